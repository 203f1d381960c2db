// A compact plain CNN for fast experiments, in the style of Real-ESRGAN's SRVGGNetCompact: a 3x3
// conv, `convs` 3x3 conv+PReLU layers of `features` channels on the low-resolution grid, a 3x3 conv
// to 3*scale^2 channels, pixel shuffle, plus the nearest-upsampled input (the network learns the
// residual). Runs on 0..1.
#pragma once

#include <vector>

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/conv.h>

#include "srkit/nn/network.h"

namespace srkit {

struct CompactConfig {
  int64_t scale = 4;
  int64_t features = 32;
  int64_t convs = 8;  // body layers between the head and the tail
};

// The parameters a network of this config holds, counted without building it.
double parameter_count(const CompactConfig& config);

class CompactCnnImpl : public NetworkImpl {
 public:
  explicit CompactCnnImpl(const CompactConfig& config);
  torch::Tensor forward(const torch::Tensor& input) override;
  nlohmann::json config() const override;
  int64_t scale() const override { return config_.scale; }
  double value_range() const override { return 1.0; }
  double receptive_radius() const override;
  double flops_per_input_pixel() const override;
  double peak_bytes_per_input_pixel() const override;

 private:
  CompactConfig config_;
  std::vector<torch::nn::Conv2d> convs_;  // head, body..., tail
  std::vector<torch::nn::PReLU> activations_;
};

}  // namespace srkit
