// A Keras functional graph as plain data: its layers in topological order, the input and output
// layer, and the names and shapes of its weights. What nn/keras_graph.h builds a module from,
// whatever file it came from (io/tfjs_model.h reads TF.js layers-models into it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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

struct KerasGraphSpec {
  std::string source;              // where the graph came from, for error messages (a file)
  std::vector<KerasLayer> layers;  // in the file's order, which Keras keeps topological
  std::string input_layer;
  std::string output_layer;
  std::vector<WeightSpec> weights;  // in manifest order = byte order in the shards
};

}  // namespace srkit
