// A LibTorch module that runs an ncnn network (nn/ncnn_graph_spec.h, read by io/ncnn_model.h).
//
//   srkit::NcnnGraph net(srkit::read_ncnn_model("x4plus.param", "x4plus.bin"));
//   torch::Tensor sr = net->forward(lr_nchw);  // in the range the network was trained on
//
// Layers run: Input, Split, Convolution and Deconvolution (with their fused activations),
// InnerProduct, Pooling (incl. global), Crop, Concat, Eltwise, BinaryOp, Scale, PReLU, ReLU,
// Sigmoid, Interp (nearest, bilinear, bicubic) and PixelShuffle, each as ncnn defines it. Blobs
// keep ncnn's shapes behind a batch axis: [N,W] (a vector such as a pooled mean), [N,H,W],
// [N,C,H,W]. Anything else is a setup error naming the layer and the file.
#pragma once

#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "srkit/nn/graph_stats.h"
#include "srkit/nn/ncnn_graph_spec.h"

namespace srkit {

bool ncnn_layer_supported(const std::string& type);
std::string ncnn_supported_layers();  // for error messages: "Input, Split, ..."

class NcnnGraphImpl : public torch::nn::Module {
 public:
  // Takes the layers and their weights; checks every layer's parameters and weight sizes.
  explicit NcnnGraphImpl(const NcnnGraphSpec& spec);

  // [N, C, H, W] float -> the network's output blob. The input's dtype is the arithmetic's:
  // call set_dtype first for bf16.
  torch::Tensor forward(const torch::Tensor& input);

  // Stores the convolution kernels channels-last (or back), which oneDNN runs faster on CPU.
  void set_channels_last(bool channels_last);
  // Casts the weights (float32, or bfloat16 for the fast path); forward then expects that dtype.
  void set_dtype(torch::Dtype dtype);

  // The output shape (without batch) for an input of channels x height x width, by walking the
  // graph's shapes without computing anything; a setup error when the layers do not fit together
  // (wrong channel counts, a crop outside its blob).
  std::vector<int64_t> output_shape(int64_t channels, int64_t height, int64_t width) const;

  // Card facts for an input of channels x height x width: FLOPs and peak activation bytes per
  // input pixel at that size, parameters, channels, the receptive radius. `scale` is the output
  // side over the input side, rounded.
  GraphStats stats(int64_t channels, int64_t height, int64_t width) const;

  // Whether some output pixel depends on the whole input (global pooling: squeeze-excitation), so
  // that tiles are not independent.
  bool global_context() const { return global_context_; }
  // The input channels its first convolution expects (0 if it has none).
  int64_t input_channels() const { return input_channels_; }

  struct Layer;  // one layer, prepared for running (ncnn_graph.cpp)

 private:
  std::string source_;
  std::vector<std::shared_ptr<Layer>> layers_;
  std::vector<std::string> blob_names_;
  int input_blob_ = -1;
  int output_blob_ = -1;
  std::vector<int> last_use_;  // per blob: the last layer that reads it
  bool channels_last_ = false;
  bool global_context_ = false;
  double receptive_radius_ = 0;
  int64_t input_channels_ = 0;
  int64_t parameters_ = 0;
};
TORCH_MODULE(NcnnGraph);

}  // namespace srkit
