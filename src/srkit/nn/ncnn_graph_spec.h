// An ncnn network as plain data: its layers in file order (which ncnn keeps topological), their
// parameters and weights. What nn/ncnn_graph.h builds a module from, whatever reader filled it
// (io/ncnn_model.h reads .param/.bin files into it).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/types.h>

namespace srkit {

// A layer's `key=value` parameters. A scalar is an array of one; ncnn's array keys (-233xx) are
// stored under their plain key xx.
struct NcnnParams {
  std::map<int, std::vector<double>> values;

  bool has(int key) const { return values.count(key) != 0; }
  int64_t get_int(int key, int64_t fallback) const {
    const auto it = values.find(key);
    return it == values.end() || it->second.empty() ? fallback
                                                    : static_cast<int64_t>(it->second.front());
  }
  double get_float(int key, double fallback) const {
    const auto it = values.find(key);
    return it == values.end() || it->second.empty() ? fallback : it->second.front();
  }
  std::vector<double> get_array(int key) const {  // empty when absent
    const auto it = values.find(key);
    return it == values.end() ? std::vector<double>{} : it->second;
  }
};

struct NcnnLayerSpec {
  std::string type;  // "Convolution", "Split", ...
  std::string name;
  std::vector<std::string> bottoms, tops;  // blob names in, out
  NcnnParams params;
  std::vector<torch::Tensor> weights;  // float32, flat, in the .bin's load order for the type
};

struct NcnnGraphSpec {
  std::string source;  // the .param file, for error messages
  std::vector<NcnnLayerSpec> layers;
};

}  // namespace srkit
