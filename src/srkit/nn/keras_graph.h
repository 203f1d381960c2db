// A LibTorch module that runs a Keras functional graph read from a TF.js layers-model.
//
//   auto topology = srkit::read_tfjs_topology("models/esrgan-slim/x4/model.json");
//   srkit::KerasGraph net(topology);
//   net->load_weights(srkit::read_tfjs_weights(topology));
//   torch::Tensor sr = net->forward(lr_nchw);  // in the model's own value range
//
// Supported layer classes: InputLayer, Conv2D (odd kernels, 'same' or 1x1 'valid', stride 1,
// linear or relu), Activation(relu), Concatenate (channel axis), Add, UpSampling2D (nearest),
// MultiplyBeta and PixelShuffle<N>x (TF depth_to_space channel order). Anything else is a clear
// setup error naming the layer.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include "srkit/nn/graph_stats.h"
#include "srkit/nn/keras_graph_spec.h"

namespace srkit {

class KerasGraphImpl : public torch::nn::Module {
 public:
  // fuse_upsampling: run "nearest upsampling by s, then a k x k conv" (the RDN tail) as one conv on
  // the low-resolution grid with s*s times the output channels followed by a pixel shuffle. Same
  // result, no upsampled intermediate; false keeps the literal graph (the slow twin in tests).
  explicit KerasGraphImpl(const KerasGraphSpec& topology, bool fuse_upsampling = true);

  // Copies Keras weights (HWIO kernels) into the convolutions (OIHW). Every convolution must get
  // both its kernel and bias, with matching shapes.
  void load_weights(const std::map<std::string, torch::Tensor>& weights);

  // Stores the convolution kernels channels-last (or back), which oneDNN runs faster on CPU.
  void set_channels_last(bool channels_last);

  torch::Tensor forward(const torch::Tensor& input);

  const GraphStats& stats() const { return stats_; }

 private:
  enum class Op {
    kInput,
    kConv,
    kRelu,
    kConcat,
    kAdd,
    kUpsample,
    kScale,
    kDepthToSpace,
    kUpsampleConv,  // a fused nearest upsampling + conv
  };
  struct Node {
    Op op = Op::kInput;
    std::string name;
    std::vector<int> inputs;
    int conv = -1;       // index into convs_ for kConv
    bool relu = false;   // fused activation of a Conv2D
    int64_t factor = 1;  // upsampling / depth-to-space block size
    double multiplier = 1.0;
    int last_use = -1;  // index of the last node that reads this one
    int fused = -1;     // index into fused_weights_ for kUpsampleConv
  };

  void add_layer(const KerasLayer& layer, const std::map<std::string, int64_t>& kernel_in,
                 const std::map<std::string, int>& index_of);
  void compute_stats(const std::vector<int64_t>& channels, const std::vector<double>& spatial);
  void fuse_upsampling_into_convs();
  void compute_fused_weights();
  void mark_last_uses();

  std::vector<Node> nodes_;
  std::vector<torch::nn::Conv2d> convs_;
  std::vector<std::string> conv_layer_names_;
  std::vector<torch::Tensor> fused_weights_, fused_biases_;  // buffers, derived from the convs
  int output_ = -1;
  bool channels_last_ = false;
  GraphStats stats_;
  std::string source_;  // model.json path, for error messages
};
TORCH_MODULE(KerasGraph);

}  // namespace srkit
