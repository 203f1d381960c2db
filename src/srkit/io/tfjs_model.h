// Reader for TensorFlow.js "layers-model" files: model.json (a Keras functional graph plus a
// weights manifest) and its binary weight shards. It only parses; nn/keras_graph.h turns the result
// into a LibTorch module.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <torch/types.h>
#include <nlohmann/json.hpp>

namespace srkit {

struct KerasLayer {
  std::string name;
  std::string class_name;           // "Conv2D", "Add", "PixelShuffle4x", ...
  std::vector<std::string> inputs;  // names of the layers feeding this one, in order
  nlohmann::json config;
};

struct WeightSpec {
  std::string name;  // "<layer>/kernel" or "<layer>/bias"
  std::vector<int64_t> shape;
};

struct TfjsLayersModel {
  std::filesystem::path model_json;
  std::vector<KerasLayer> layers;  // in the file's order, which Keras keeps topological
  std::string input_layer;
  std::string output_layer;
  std::vector<std::filesystem::path> shard_paths;  // concatenated in this order
  std::vector<WeightSpec> weights;                 // in manifest order = byte order in the shards
};

// Parses model.json. Throws a setup Error naming the file when it is missing, not JSON, not a
// layers-model, or uses a feature this reader does not support (quantised or non-float32 weights,
// several inputs or outputs).
TfjsLayersModel read_tfjs_topology(const std::filesystem::path& model_json);

// Reads the shards and returns each weight as a float32 tensor of its stored (Keras) shape.
// Throws a setup Error when a shard is missing or its size does not match the manifest.
std::map<std::string, torch::Tensor> read_tfjs_weights(const TfjsLayersModel& model);

}  // namespace srkit
