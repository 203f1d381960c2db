#include "srkit/nn/restormer.h"

#include <torch/torch.h>

namespace srkit {

torch::nn::Conv2d same_conv(int64_t in, int64_t out, int64_t kernel, int64_t groups) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                               .padding(kernel / 2)
                               .groups(groups)
                               .bias(false));
}

ChannelLayerNormImpl::ChannelLayerNormImpl(int64_t channels) {
  weight_ = register_parameter("weight", torch::ones({1, channels, 1, 1}));
  bias_ = register_parameter("bias", torch::zeros({1, channels, 1, 1}));
}

torch::Tensor ChannelLayerNormImpl::forward(const torch::Tensor& x) {
  const auto mean = x.mean(1, true);
  const auto variance = (x - mean).pow(2).mean(1, true);
  return (x - mean) / torch::sqrt(variance + 1e-5) * weight_ + bias_;
}

MdtaImpl::MdtaImpl(int64_t channels, int64_t heads) : heads_(heads) {
  temperature_ = register_parameter("temperature", torch::ones({heads, 1, 1}));
  qkv_ = register_module("qkv", same_conv(channels, 3 * channels, 1));
  qkv_depthwise_ =
      register_module("qkv_depthwise", same_conv(3 * channels, 3 * channels, 3, 3 * channels));
  project_out_ = register_module("project_out", same_conv(channels, channels, 1));
}

torch::Tensor MdtaImpl::forward(const torch::Tensor& x) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const auto qkv = qkv_depthwise_(qkv_(x)).chunk(3, 1);
  const auto heads = [&](const torch::Tensor& t) {
    return t.reshape({n, heads_, c / heads_, h * w});
  };
  const auto q = torch::nn::functional::normalize(
      heads(qkv[0]), torch::nn::functional::NormalizeFuncOptions().dim(-1));
  const auto k = torch::nn::functional::normalize(
      heads(qkv[1]), torch::nn::functional::NormalizeFuncOptions().dim(-1));
  const auto attention = torch::softmax(torch::matmul(q, k.transpose(-2, -1)) * temperature_, -1);
  return project_out_(torch::matmul(attention, heads(qkv[2])).reshape({n, c, h, w}));
}

GdfnImpl::GdfnImpl(int64_t channels, double expansion) {
  const auto hidden = static_cast<int64_t>(static_cast<double>(channels) * expansion);
  project_in_ = register_module("project_in", same_conv(channels, 2 * hidden, 1));
  depthwise_ = register_module("depthwise", same_conv(2 * hidden, 2 * hidden, 3, 2 * hidden));
  project_out_ = register_module("project_out", same_conv(hidden, channels, 1));
}

torch::Tensor GdfnImpl::forward(const torch::Tensor& x) {
  const auto halves = depthwise_(project_in_(x)).chunk(2, 1);
  return project_out_(torch::gelu(halves[0]) * halves[1]);
}

TransformerBlockImpl::TransformerBlockImpl(int64_t channels, int64_t heads, double expansion) {
  norm1_ = register_module("norm1", ChannelLayerNorm(channels));
  attention_ = register_module("attention", Mdta(channels, heads));
  norm2_ = register_module("norm2", ChannelLayerNorm(channels));
  feed_forward_ = register_module("feed_forward", Gdfn(channels, expansion));
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& x) {
  const auto y = x + attention_(norm1_(x));
  return y + feed_forward_(norm2_(y));
}

torch::nn::Sequential transformer_stage(int64_t channels, int64_t heads, double expansion,
                                        int64_t count) {
  torch::nn::Sequential stage;
  for (int64_t i = 0; i < count; ++i) stage->push_back(TransformerBlock(channels, heads, expansion));
  return stage;
}

DownsampleImpl::DownsampleImpl(int64_t channels) {
  conv_ = register_module("conv", same_conv(channels, channels / 2, 3));
}

torch::Tensor DownsampleImpl::forward(const torch::Tensor& x) {
  return torch::pixel_unshuffle(conv_(x), 2);
}

UpsampleImpl::UpsampleImpl(int64_t channels) {
  conv_ = register_module("conv", same_conv(channels, 2 * channels, 3));
}

torch::Tensor UpsampleImpl::forward(const torch::Tensor& x) {
  return torch::pixel_shuffle(conv_(x), 2);
}

}  // namespace srkit
