// srkit's native, trainable super-resolution networks: RDN and RRDN with the structure (and layer
// names) of the imported UpscalerJS graphs, so imported weights load into them, and a compact CNN
// for fast experiments. A network is rebuilt from its JSON config, which checkpoints store.
//
//   auto net = srkit::make_network({{"architecture", "compact"}, {"scale", 4}});
//   auto medium = srkit::network_from_keras(read_tfjs_topology(json), 255);   // imported weights
//   medium->load_keras_weights(read_tfjs_weights(topology), json.string());
//   torch::Tensor sr = net->forward(lr * net->value_range()) / net->value_range();
#pragma once

#include <map>
#include <memory>
#include <string>

#include <torch/nn/module.h>
#include <torch/types.h>
#include <nlohmann/json.hpp>

#include "srkit/nn/keras_graph_spec.h"

namespace srkit {

class NetworkImpl : public torch::nn::Module {
 public:
  // [N,3,H,W] in the network's value range -> [N,3,H*scale,W*scale].
  virtual torch::Tensor forward(const torch::Tensor& input) = 0;

  // {"architecture": ..., every hyperparameter}: make_network(config()) builds the same network.
  virtual nlohmann::json config() const = 0;
  virtual int64_t scale() const = 0;
  // The range of pixel values the weights expect: 255 for RDN (as UpscalerJS trained it), else 1.
  virtual double value_range() const = 0;
  // Input pixels from an output pixel's centre to the edge of what it sees; the tiler pads by it.
  virtual double receptive_radius() const = 0;
  // Multiply-adds count as 2.
  virtual double flops_per_input_pixel() const = 0;
  // float32 activations alive at once during inference, an estimate used to size tiles.
  virtual double peak_bytes_per_input_pixel() const = 0;

  // Copies weights stored under Keras layer names ("F_1_1/kernel", ...); RDN and RRDN only.
  virtual void load_keras_weights(const std::map<std::string, torch::Tensor>& weights,
                                  const std::string& source);

  int64_t parameter_count() const;
  // Stores the convolution kernels channels-last (faster with oneDNN on CPU) or contiguous.
  void set_channels_last(bool channels_last);
};
using Network = std::shared_ptr<NetworkImpl>;

// Builds a freshly initialised network. Throws a usage Error naming the key for an unknown
// architecture, unknown keys or out-of-range values.
Network make_network(const nlohmann::json& config);

// The native network with the structure of an imported UpscalerJS graph (RDN: layer "F_m1", RRDN:
// layer "Pre_blocks_conv"), hyperparameters read from the graph; weights not yet loaded. Throws a
// setup Error when the graph is neither.
Network network_from_keras(const KerasGraphSpec& topology, double value_range);

}  // namespace srkit
