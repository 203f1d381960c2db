#include "srkit/nn/rdn.h"

#include <algorithm>

#include <torch/torch.h>

#include "srkit/nn/layers.h"

namespace srkit {
namespace {

torch::nn::Conv2d make_conv(int64_t in, int64_t out, int64_t kernel) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).padding(kernel / 2));
}

// Weights and biases of a kernel x kernel convolution.
double conv_parameters(double in, double out, double kernel) {
  return in * out * kernel * kernel + out;
}

double conv_flops(const torch::nn::Conv2d& conv) {
  return 2.0 * static_cast<double>(conv->weight.numel());
}

// Every conv runs on the input grid except the final SR conv, which runs on scale^2 output pixels
// per input pixel (RDN and RRDN alike).
double network_flops(const std::vector<std::pair<std::string, torch::nn::Conv2d>>& convs,
                     const torch::nn::Conv2d& sr, int64_t scale) {
  double flops = 0;
  for (const auto& [name, conv] : convs) flops += conv_flops(conv);
  return flops + static_cast<double>(scale * scale - 1) * conv_flops(sr);
}

void load_all(const std::vector<std::pair<std::string, torch::nn::Conv2d>>& convs,
              const std::map<std::string, torch::Tensor>& weights, const std::string& source) {
  for (auto [name, conv] : convs) load_keras_conv(conv, name, weights, source);
}

}  // namespace

torch::nn::Conv2d RdnImpl::add_conv(const std::string& name, int64_t in, int64_t out,
                                    int64_t kernel) {
  auto conv = register_module(name, make_conv(in, out, kernel));
  convs_.emplace_back(name, conv);
  return conv;
}

double parameter_count(const RdnConfig& config) {
  const double g0 = config.features, g = config.growth, s = config.scale;
  double count = conv_parameters(3, g0, 3) + conv_parameters(g0, g0, 3);
  for (int64_t c = 1; c <= config.convs; ++c) {
    count += config.blocks * conv_parameters(g0 + (c - 1) * g, g, 3);
  }
  count += config.blocks * conv_parameters(g0 + config.convs * g, g0, 1);
  return count + conv_parameters(config.blocks * g0, g0, 1) + conv_parameters(g0, g0, 3) +
         conv_parameters(g0, 64, 5) + conv_parameters(64, 32, 3) +
         conv_parameters(32, 3 * s * s, 3) + conv_parameters(3 * s * s, 3, 3);
}

RdnImpl::RdnImpl(const RdnConfig& config) : config_(config) {
  const int64_t g0 = config.features, g = config.growth, s = config.scale;
  f_m1_ = add_conv("F_m1", 3, g0, 3);
  f_0_ = add_conv("F_0", g0, g0, 3);
  for (int64_t d = 1; d <= config.blocks; ++d) {
    std::vector<torch::nn::Conv2d> block;
    for (int64_t c = 1; c <= config.convs; ++c) {
      const auto name = "F_" + std::to_string(d) + "_" + std::to_string(c);
      block.push_back(add_conv(name, g0 + (c - 1) * g, g, 3));
    }
    dense_.push_back(block);
    fusion_.push_back(add_conv("LFF_" + std::to_string(d), g0 + config.convs * g, g0, 1));
  }
  gff_1_ = add_conv("GFF_1", config.blocks * g0, g0, 1);
  gff_2_ = add_conv("GFF_2", g0, g0, 3);
  upn_1_ = add_conv("UPN1", g0, 64, 5);
  upn_2_ = add_conv("UPN2", 64, 32, 3);
  upn_3_ = add_conv("UPN3", 32, 3 * s * s, 3);
  sr_ = add_conv("SR", 3 * s * s, 3, 3);
}

torch::Tensor RdnImpl::forward(const torch::Tensor& input) {
  const auto f_m1 = f_m1_->forward(input);
  auto local = f_0_->forward(f_m1);
  std::vector<torch::Tensor> block_outputs;
  for (size_t d = 0; d < dense_.size(); ++d) {
    std::vector<torch::Tensor> parts{local};
    for (auto& conv : dense_[d]) parts.push_back(torch::relu(conv->forward(cat_channels(parts))));
    local = fusion_[d]->forward(cat_channels(parts)) + local;
    block_outputs.push_back(local);
  }
  const auto global = gff_2_->forward(gff_1_->forward(cat_channels(block_outputs))) + f_m1;
  auto x = torch::relu(upn_1_->forward(global));
  x = torch::relu(upn_2_->forward(x));
  x = upn_3_->forward(x);
  return upsample_conv(x, sr_->weight, sr_->bias, config_.scale);
}

nlohmann::json RdnImpl::config() const {
  return {{"architecture", "rdn"},
          {"scale", config_.scale},
          {"blocks", config_.blocks},
          {"convs", config_.convs},
          {"growth", config_.growth},
          {"features", config_.features},
          {"value_range", config_.value_range}};
}

double RdnImpl::receptive_radius() const {
  // 3x3 convs reach 1 pixel, UPN1 (5x5) 2; the SR conv runs on the upscaled grid.
  return 1 + 1 + static_cast<double>(config_.blocks * config_.convs) + 1 + 2 + 1 + 1 +
         1.0 / static_cast<double>(config_.scale);
}

double RdnImpl::flops_per_input_pixel() const { return network_flops(convs_, sr_, config_.scale); }

double RdnImpl::peak_bytes_per_input_pixel() const {
  const double g0 = static_cast<double>(config_.features), d = static_cast<double>(config_.blocks);
  const double s2 = static_cast<double>(config_.scale * config_.scale);
  // Global fusion holds every block output and their concatenation; the tail an RGB image per
  // phase twice (fused conv output and the shuffled result).
  return 4.0 * std::max(2 * d * g0 + 2 * g0, g0 + 2 * 3 * s2 + 32);
}

void RdnImpl::load_keras_weights(const std::map<std::string, torch::Tensor>& weights,
                                 const std::string& source) {
  load_all(convs_, weights, source);
}

torch::nn::Conv2d RrdnImpl::add_conv(const std::string& name, int64_t in, int64_t out) {
  auto conv = register_module(name, make_conv(in, out, 3));
  convs_.emplace_back(name, conv);
  return conv;
}

double parameter_count(const RrdnConfig& config) {
  const double g0 = config.features, g = config.growth, s = config.scale;
  double count = conv_parameters(3, g0, 3);
  for (int64_t c = 1; c <= config.convs; ++c) {
    count += config.rrdbs * config.blocks * conv_parameters(g0 + (c - 1) * g, g, 3);
  }
  count += config.rrdbs * config.blocks * conv_parameters(g0 + config.convs * g, g0, 3);
  return count + conv_parameters(g0, g0, 3) + conv_parameters(g0, 3 * s * s, 3) +
         conv_parameters(3, 3, 3);
}

RrdnImpl::RrdnImpl(const RrdnConfig& config) : config_(config) {
  const int64_t g0 = config.features, g = config.growth, s = config.scale;
  pre_ = add_conv("Pre_blocks_conv", 3, g0);
  for (int64_t t = 1; t <= config.rrdbs; ++t) {
    std::vector<std::vector<torch::nn::Conv2d>> rrdb;
    std::vector<torch::nn::Conv2d> fusion;
    for (int64_t d = 1; d <= config.blocks; ++d) {
      const auto prefix = std::to_string(t) + "_" + std::to_string(d);
      std::vector<torch::nn::Conv2d> block;
      for (int64_t c = 1; c <= config.convs; ++c) {
        block.push_back(add_conv("F_" + prefix + "_" + std::to_string(c), g0 + (c - 1) * g, g));
      }
      rrdb.push_back(block);
      fusion.push_back(add_conv("LFF_" + prefix, g0 + config.convs * g, g0));
    }
    dense_.push_back(rrdb);
    fusion_.push_back(fusion);
  }
  post_ = add_conv("post_blocks_conv", g0, g0);
  pre_shuffle_ = add_conv("PreShuffle", g0, 3 * s * s);
  sr_ = add_conv("SR", 3, 3);
}

torch::Tensor RrdnImpl::forward(const torch::Tensor& input) {
  const auto pre = pre_->forward(input);
  auto rrdb_out = pre;
  for (size_t t = 0; t < dense_.size(); ++t) {
    auto local = rrdb_out;
    for (size_t d = 0; d < dense_[t].size(); ++d) {
      std::vector<torch::Tensor> parts{local};
      for (auto& conv : dense_[t][d]) {
        parts.push_back(torch::relu(conv->forward(cat_channels(parts))));
      }
      local = local + fusion_[t][d]->forward(cat_channels(parts)) * config_.beta;
    }
    rrdb_out = rrdb_out + local * config_.beta;
  }
  const auto global = post_->forward(rrdb_out) + pre;
  return sr_->forward(depth_to_space_tf(pre_shuffle_->forward(global), config_.scale));
}

nlohmann::json RrdnImpl::config() const {
  return {{"architecture", "rrdn"},
          {"scale", config_.scale},
          {"rrdbs", config_.rrdbs},
          {"blocks", config_.blocks},
          {"convs", config_.convs},
          {"growth", config_.growth},
          {"features", config_.features},
          {"beta", config_.beta},
          {"value_range", config_.value_range}};
}

double RrdnImpl::receptive_radius() const {
  const double dense = static_cast<double>(config_.rrdbs * config_.blocks * (config_.convs + 1));
  return 1 + dense + 1 + 1 + 1.0 / static_cast<double>(config_.scale);
}

double RrdnImpl::flops_per_input_pixel() const { return network_flops(convs_, sr_, config_.scale); }

double RrdnImpl::peak_bytes_per_input_pixel() const {
  const double g0 = static_cast<double>(config_.features);
  const double dense = g0 + static_cast<double>(config_.convs * config_.growth);
  const double s2 = static_cast<double>(config_.scale * config_.scale);
  // pre, the RRDB input, the block input and the growing concatenation (twice while copying); the
  // tail two RGB images per phase.
  return 4.0 * std::max(3 * g0 + 2 * dense, g0 + 3 * 3 * s2);
}

void RrdnImpl::load_keras_weights(const std::map<std::string, torch::Tensor>& weights,
                                  const std::string& source) {
  load_all(convs_, weights, source);
}

}  // namespace srkit
