// Reader for TensorFlow.js "layers-model" files: model.json (a Keras functional graph plus a
// weights manifest) and its binary weight shards. It only parses, into the graph description that
// nn/keras_graph.h turns into a LibTorch module.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <torch/types.h>

#include "srkit/nn/keras_graph_spec.h"

namespace srkit {

// The graph and weight names of model.json (the part nn/keras_graph.h builds a module from), and
// where its bytes are.
struct TfjsLayersModel : KerasGraphSpec {
  std::filesystem::path model_json;
  std::vector<std::filesystem::path> shard_paths;  // concatenated in this order
  // How each weight (same order as `weights`) is stored: "float32", or quantised by
  // tensorflowjs_converter as "uint8"/"uint16" (value = min + scale * q) or "float16".
  struct Storage {
    std::string dtype = "float32";
    double scale = 1.0, min = 0.0;
  };
  std::vector<Storage> storage;
};

// Parses model.json. Throws a setup Error naming the file when it is missing, not JSON, not a
// layers-model, or uses a feature this reader does not support (weights that are not float32,
// stored as float32, uint8, uint16 or float16; several inputs or outputs).
TfjsLayersModel read_tfjs_topology(const std::filesystem::path& model_json);

// Reads the shards and returns each weight as a float32 tensor of its stored (Keras) shape,
// dequantised.
// Throws a setup Error when a shard is missing or its size does not match the manifest.
std::map<std::string, torch::Tensor> read_tfjs_weights(const TfjsLayersModel& model);

}  // namespace srkit
