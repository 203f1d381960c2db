#include "srkit/nn/flow_unet.h"

#include <cmath>
#include <set>

#include <torch/nn/functional/activation.h>

#include "srkit/core/error.h"
#include "srkit/nn/layers.h"

namespace srkit {

namespace F = torch::nn::functional;

nlohmann::json to_json(const FlowUNetOptions& options) {
  return {{"image_channels", options.image_channels},
          {"condition_channels", options.condition_channels},
          {"channels", options.channels},
          {"multipliers", options.multipliers},
          {"blocks", options.blocks},
          {"embedding", options.embedding}};
}

FlowUNetOptions flow_unet_options(const nlohmann::json& config) {
  static const std::set<std::string> kKeys{
      "image_channels", "condition_channels", "channels", "multipliers", "blocks", "embedding"};
  if (!config.is_object()) throw usage_error("flow network: the configuration is not an object");
  FlowUNetOptions options;
  for (const auto& [key, value] : config.items()) {
    if (!kKeys.count(key)) throw usage_error("flow network: unknown key '" + key + "'");
  }
  const auto positive = [&](const char* key, int64_t& field, int64_t most) {
    if (!config.contains(key)) return;
    const auto& value = config.at(key);
    if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > most) {
      throw usage_error(std::string("flow network: '") + key + "' must be an integer in 1.." +
                        std::to_string(most));
    }
    field = value.get<int64_t>();
  };
  positive("image_channels", options.image_channels, 64);
  positive("condition_channels", options.condition_channels, 64);
  positive("channels", options.channels, 1024);
  positive("blocks", options.blocks, 16);
  positive("embedding", options.embedding, 4096);
  if (options.embedding % 2 != 0) throw usage_error("flow network: 'embedding' must be even");
  if (config.contains("multipliers")) {
    const auto& list = config.at("multipliers");
    if (!list.is_array() || list.empty() || list.size() > 8) {
      throw usage_error("flow network: 'multipliers' must be a list of 1 to 8 integers");
    }
    options.multipliers.clear();
    for (const auto& m : list) {
      if (!m.is_number_integer() || m.get<int64_t>() < 1 || m.get<int64_t>() > 16) {
        throw usage_error("flow network: each of 'multipliers' must be an integer in 1..16");
      }
      options.multipliers.push_back(m.get<int64_t>());
    }
  }
  return options;
}

torch::Tensor noise_level_embedding(const torch::Tensor& s, int64_t dims) {
  const int64_t half = dims / 2;
  auto frequencies =
      torch::exp(-std::log(10000.0) * torch::arange(half, s.options().dtype(torch::kFloat32)) /
                 static_cast<double>(half));
  auto angles = (s.to(torch::kFloat32) * 1000.0).unsqueeze(1) * frequencies.unsqueeze(0);
  return torch::cat({torch::sin(angles), torch::cos(angles)}, 1);
}

PixelNormImpl::PixelNormImpl(int64_t channels)
    : weight_(register_parameter("weight", torch::ones({channels}))),
      bias_(register_parameter("bias", torch::zeros({channels}))) {}

torch::Tensor PixelNormImpl::forward(const torch::Tensor& x) {
  // [N,C,H,W] viewed as [N,H,W,C]: a channels-last tensor's own layout, so no copy there.
  auto nhwc = x.permute({0, 2, 3, 1});
  auto normed = torch::layer_norm(nhwc, {x.size(1)}, weight_, bias_, 1e-6);
  return normed.permute({0, 3, 1, 2});
}

FlowResBlockImpl::FlowResBlockImpl(int64_t in, int64_t out, int64_t embedding)
    : norm1_(register_module("norm1", PixelNorm(in))),
      norm2_(register_module("norm2", PixelNorm(out))),
      conv1_(register_module("conv1",
                             torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1)))),
      conv2_(register_module("conv2",
                             torch::nn::Conv2d(torch::nn::Conv2dOptions(out, out, 3).padding(1)))),
      film_(register_module("film", torch::nn::Linear(embedding, 2 * out))) {
  if (in != out) {
    skip_ = register_module("skip", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1)));
  }
  // The block starts as the identity: its last convolution outputs zero.
  torch::NoGradGuard no_grad;
  conv2_->weight.zero_();
  conv2_->bias.zero_();
}

torch::Tensor FlowResBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& embedding) {
  auto h = conv1_->forward(F::silu(norm1_->forward(x)));
  auto film = film_->forward(F::silu(embedding)).unsqueeze(-1).unsqueeze(-1);
  auto [scale, shift] = std::make_tuple(film.chunk(2, 1)[0], film.chunk(2, 1)[1]);
  h = h * (1 + scale) + shift;
  h = conv2_->forward(F::silu(norm2_->forward(h)));
  return (skip_ ? skip_->forward(x) : x) + h;
}

FlowUNetImpl::FlowUNetImpl(const FlowUNetOptions& options) : options_(options) {
  const int64_t levels = static_cast<int64_t>(options.multipliers.size());
  const int64_t e = options.embedding;
  embed1_ = register_module("embed1", torch::nn::Linear(e, e));
  embed2_ = register_module("embed2", torch::nn::Linear(e, e));
  input_ = register_module(
      "input", torch::nn::Conv2d(
                   torch::nn::Conv2dOptions(options.image_channels + options.condition_channels,
                                            options.channels, 3)
                       .padding(1)));
  std::vector<int64_t> widths;
  for (int64_t m : options.multipliers) widths.push_back(m * options.channels);
  int64_t previous = options.channels;
  for (int64_t level = 0; level < levels; ++level) {
    for (int64_t b = 0; b < options.blocks; ++b) {
      down_blocks_->push_back(FlowResBlock(b == 0 ? previous : widths[level], widths[level], e));
    }
    previous = widths[level];
    if (level + 1 < levels) {
      downsamples_->push_back(
          torch::nn::Conv2d(torch::nn::Conv2dOptions(previous, previous, 3).stride(2).padding(1)));
    }
  }
  for (int64_t b = 0; b < 2; ++b) middle_->push_back(FlowResBlock(previous, previous, e));
  for (int64_t level = levels - 1; level >= 0; --level) {
    if (level + 1 < levels) {
      // Nearest x2 then this 3x3 convolution (upsample_conv runs both as one).
      upsamples_->push_back(torch::nn::Conv2d(
          torch::nn::Conv2dOptions(widths[level + 1], widths[level], 3).padding(1)));
    }
    for (int64_t b = 0; b < options.blocks; ++b) {
      // The first block of a level also takes the skip connection from the way down.
      up_blocks_->push_back(
          FlowResBlock(b == 0 ? 2 * widths[level] : widths[level], widths[level], e));
    }
  }
  register_module("down_blocks", down_blocks_);
  register_module("downsamples", downsamples_);
  register_module("middle", middle_);
  register_module("up_blocks", up_blocks_);
  register_module("upsamples", upsamples_);
  output_norm_ = register_module("output_norm", PixelNorm(widths[0]));
  output_ = register_module(
      "output",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(widths[0], options.image_channels, 3).padding(1)));
}

int64_t FlowUNetImpl::size_multiple() const {
  return int64_t{1} << (options_.multipliers.size() - 1);
}

int64_t FlowUNetImpl::receptive_radius() const {
  // Each 3x3 convolution at a level whose pixels are f full-resolution pixels wide reaches f
  // further; a stride-2 convolution and a nearest upsampling reach at most a pixel of the coarser
  // level more besides.
  const int64_t levels = static_cast<int64_t>(options_.multipliers.size());
  int64_t radius = 2;  // the input and output convolutions
  for (int64_t level = 0; level < levels; ++level) {
    const int64_t f = int64_t{1} << level;
    radius += 2 * (2 * options_.blocks) * f;                // the blocks on the way down and up
    if (level + 1 < levels) radius += 2 * f + (2 * f + f);  // downsample; upsample and its conv
  }
  radius += 2 * 2 * (int64_t{1} << (levels - 1));  // the middle blocks
  return radius;
}

double FlowUNetImpl::flops_per_pixel() const {
  const auto conv = [](double in, double out, double k) { return 2 * in * out * k * k; };
  const auto block = [&](double in, double out) {
    return conv(in, out, 3) + conv(out, out, 3) + (in != out ? conv(in, out, 1) : 0);
  };
  const int64_t levels = static_cast<int64_t>(options_.multipliers.size());
  const double c = static_cast<double>(options_.channels);
  double flops =
      conv(static_cast<double>(options_.image_channels + options_.condition_channels), c, 3) +
      conv(c * options_.multipliers[0], static_cast<double>(options_.image_channels), 3);
  double previous = c;
  for (int64_t level = 0; level < levels; ++level) {
    const double area = std::pow(4.0, static_cast<double>(level));  // pixels per level pixel
    const double w = c * options_.multipliers[level];
    double at_level = 0;
    for (int64_t b = 0; b < options_.blocks; ++b) {
      at_level += block(b == 0 ? previous : w, w) + block(b == 0 ? 2 * w : w, w);
    }
    if (level + 1 < levels) {
      const double next = c * options_.multipliers[level + 1];
      at_level += conv(w, w, 3) / 4 + conv(next, w, 3);  // downsample; upsample's conv
    } else {
      at_level += 2 * block(w, w);  // the middle
    }
    flops += at_level / area;
    previous = w;
  }
  return flops;
}

double FlowUNetImpl::peak_bytes_per_pixel() const {
  // Measured: 6.7-7.0 KB per window pixel for the CPU configuration (32 channels at full
  // resolution; `bash bench/flow_memory.sh`: the peak RSS slope between two window sizes), about 55
  // float32 maps of the full-resolution width alive at once with the allocator's slack, scaled here
  // by that width.
  return 220.0 * static_cast<double>(options_.channels * options_.multipliers[0]);
}

int64_t FlowUNetImpl::parameter_count() const {
  int64_t count = 0;
  for (const auto& p : parameters()) count += p.numel();
  return count;
}

std::vector<int64_t> FlowUNetImpl::level_widths() const {
  std::vector<int64_t> widths;
  for (int64_t m : options_.multipliers) widths.push_back(m * options_.channels);
  return widths;
}

torch::Tensor FlowUNetImpl::forward(const torch::Tensor& x_s, const torch::Tensor& condition,
                                    const torch::Tensor& s,
                                    const std::vector<torch::Tensor>& encoder_features) {
  const int64_t multiple = size_multiple();
  if (!encoder_features.empty() && encoder_features.size() != options_.multipliers.size()) {
    throw usage_error("flow network: " + std::to_string(encoder_features.size()) +
                      " encoder feature maps given for " +
                      std::to_string(options_.multipliers.size()) + " levels");
  }
  if (x_s.size(-1) % multiple != 0 || x_s.size(-2) % multiple != 0) {
    throw usage_error("flow network: image sides must be multiples of " + std::to_string(multiple) +
                      ", got " + std::to_string(x_s.size(-2)) + "x" + std::to_string(x_s.size(-1)));
  }
  auto embedding = noise_level_embedding(s, options_.embedding).to(x_s.dtype());
  embedding = embed2_->forward(F::silu(embed1_->forward(embedding)));

  const int64_t levels = static_cast<int64_t>(options_.multipliers.size());
  auto h = input_->forward(cat_channels({x_s, condition}));
  std::vector<torch::Tensor> skips;
  size_t block = 0;
  for (int64_t level = 0; level < levels; ++level) {
    for (int64_t b = 0; b < options_.blocks; ++b) {
      h = down_blocks_[block++]->as<FlowResBlock>()->forward(h, embedding);
    }
    if (!encoder_features.empty()) h = h + encoder_features[level];
    skips.push_back(h);
    if (level + 1 < levels) h = downsamples_[level]->as<torch::nn::Conv2d>()->forward(h);
  }
  for (const auto& m : *middle_) h = m->as<FlowResBlock>()->forward(h, embedding);
  block = 0;
  size_t upsample = 0;
  for (int64_t level = levels - 1; level >= 0; --level) {
    if (level + 1 < levels) {
      auto* conv = upsamples_[upsample++]->as<torch::nn::Conv2d>();
      h = upsample_conv(h, conv->weight, conv->bias, 2);
    }
    h = cat_channels({h, skips[level]});
    for (int64_t b = 0; b < options_.blocks; ++b) {
      h = up_blocks_[block++]->as<FlowResBlock>()->forward(h, embedding);
    }
  }
  return output_->forward(F::silu(output_norm_->forward(h)));
}

}  // namespace srkit
