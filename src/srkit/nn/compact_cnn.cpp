#include "srkit/nn/compact_cnn.h"

#include <algorithm>

#include <torch/torch.h>

namespace srkit {

double parameter_count(const CompactConfig& config) {
  const double f = config.features, s = config.scale;
  const double body = config.convs * (f * f * 9 + f + f);  // each conv with its PReLU
  return 3 * f * 9 + f + f + body + f * 3 * s * s * 9 + 3 * s * s;
}

CompactCnnImpl::CompactCnnImpl(const CompactConfig& config) : config_(config) {
  const int64_t f = config.features, s = config.scale;
  const auto conv = [this](int64_t in, int64_t out) {
    const auto name = "conv" + std::to_string(convs_.size());
    convs_.push_back(
        register_module(name, torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1))));
  };
  const auto prelu = [this, f] {
    const auto name = "prelu" + std::to_string(activations_.size());
    activations_.push_back(
        register_module(name, torch::nn::PReLU(torch::nn::PReLUOptions().num_parameters(f))));
  };
  conv(3, f);
  prelu();
  for (int64_t i = 0; i < config.convs; ++i) {
    conv(f, f);
    prelu();
  }
  conv(f, 3 * s * s);
}

torch::Tensor CompactCnnImpl::forward(const torch::Tensor& input) {
  auto x = input;
  for (size_t i = 0; i < activations_.size(); ++i) {
    x = activations_[i]->forward(convs_[i]->forward(x));
  }
  const int64_t s = config_.scale;
  const auto base = input.repeat_interleave(s, 2).repeat_interleave(s, 3);
  return torch::pixel_shuffle(convs_.back()->forward(x), s) + base;
}

nlohmann::json CompactCnnImpl::config() const {
  return {{"architecture", "compact"},
          {"scale", config_.scale},
          {"features", config_.features},
          {"convs", config_.convs}};
}

double CompactCnnImpl::receptive_radius() const { return static_cast<double>(config_.convs + 2); }

double CompactCnnImpl::flops_per_input_pixel() const {
  double flops = 0;
  for (const auto& conv : convs_) flops += 2.0 * static_cast<double>(conv->weight.numel());
  return flops;
}

double CompactCnnImpl::peak_bytes_per_input_pixel() const {
  const double f = static_cast<double>(config_.features);
  const double s2 = static_cast<double>(config_.scale * config_.scale);
  return 4.0 * std::max(3 * f, 3 * 3 * s2);  // input, output of a layer; tail, shuffle, base
}

}  // namespace srkit
