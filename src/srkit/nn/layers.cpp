#include "srkit/nn/layers.h"

#include <algorithm>

#include <torch/torch.h>

#include "srkit/core/error.h"

namespace srkit {

void set_channels_last(torch::nn::Module& module, bool channels_last) {
  torch::NoGradGuard no_grad;
  const auto format =
      channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  for (auto& p : module.parameters()) {
    if (p.dim() == 4) p.set_data(p.contiguous(format));
  }
}

torch::Tensor cat_channels(const std::vector<torch::Tensor>& parts) {
  const bool channels_last = std::all_of(parts.begin(), parts.end(), [](const torch::Tensor& t) {
    return t.dim() == 4 && t.is_contiguous(torch::MemoryFormat::ChannelsLast);
  });
  if (!channels_last) return torch::cat(parts, 1);
  std::vector<torch::Tensor> nhwc;
  nhwc.reserve(parts.size());
  for (const auto& part : parts) nhwc.push_back(part.permute({0, 2, 3, 1}));
  return torch::cat(nhwc, 3).permute({0, 3, 1, 2});
}

torch::Tensor depth_to_space_tf(const torch::Tensor& x, int64_t block) {
  const auto n = x.size(0), c = x.size(1) / (block * block), h = x.size(2), w = x.size(3);
  return x.reshape({n, block, block, c, h, w})
      .permute({0, 3, 4, 1, 5, 2})
      .reshape({n, c, h * block, w * block});
}

// out[c, s*h + a, s*w + b] = sum over taps (dy, dx) of W[c, :, r+dy, r+dx] * x[:, h + oy, w + ox]
// with oy = floor((a + dy) / s): tap (dy, dx) of phase (a, b) lands on low-resolution offset
// (oy, ox). The taps are gathered into a [O, s, s, I, kh', kw'] kernel by index_add
// (autograd-safe).
torch::Tensor upsample_conv_weight(const torch::Tensor& weight, int64_t s) {
  const int64_t out = weight.size(0), in = weight.size(1);
  const int64_t rh = weight.size(2) / 2, rw = weight.size(3) / 2;
  const int64_t reach_h = (rh + s - 1) / s, reach_w = (rw + s - 1) / s;
  const int64_t fh = 2 * reach_h + 1, fw = 2 * reach_w + 1;
  const auto floor_div = [s](int64_t v) { return v >= 0 ? v / s : -((-v + s - 1) / s); };
  // Destination index in the flattened (a, b, fy, fx) grid for every (a, b, tap) source.
  std::vector<int64_t> destination;
  std::vector<int64_t> source;
  for (int64_t a = 0; a < s; ++a)
    for (int64_t b = 0; b < s; ++b)
      for (int64_t dy = -rh; dy <= rh; ++dy)
        for (int64_t dx = -rw; dx <= rw; ++dx) {
          const int64_t fy = reach_h + floor_div(a + dy), fx = reach_w + floor_div(b + dx);
          destination.push_back(((a * s + b) * fh + fy) * fw + fx);
          source.push_back((rh + dy) * weight.size(3) + (rw + dx));
        }
  const auto long_options = torch::TensorOptions().dtype(torch::kLong).device(weight.device());
  const auto taps = weight.reshape({out, in, -1})
                        .index_select(2, torch::tensor(source, long_options));  // [O, I, s*s*k]
  auto fused = torch::zeros({out, in, s * s * fh * fw}, weight.options())
                   .index_add(2, torch::tensor(destination, long_options), taps);
  return fused.view({out, in, s, s, fh, fw})
      .permute({0, 2, 3, 1, 4, 5})
      .reshape({out * s * s, in, fh, fw});
}

torch::Tensor upsample_conv(const torch::Tensor& x, const torch::Tensor& weight,
                            const torch::Tensor& bias, int64_t s) {
  auto fused = upsample_conv_weight(weight, s);
  if (x.is_contiguous(torch::MemoryFormat::ChannelsLast)) {
    fused = fused.contiguous(torch::MemoryFormat::ChannelsLast);
  }
  const auto fused_bias = bias.defined() ? bias.repeat_interleave(s * s) : bias;
  return torch::pixel_shuffle(
      torch::conv2d(x, fused, fused_bias, 1, at::IntArrayRef{fused.size(2) / 2, fused.size(3) / 2}),
      s);
}

void load_keras_conv(torch::nn::Conv2d& conv, const std::string& layer,
                     const std::map<std::string, torch::Tensor>& weights,
                     const std::string& source) {
  torch::NoGradGuard no_grad;
  const auto kernel = weights.find(layer + "/kernel");
  if (kernel == weights.end()) throw setup_error(source + ": no kernel for layer " + layer);
  const auto oihw = kernel->second.permute({3, 2, 0, 1});
  if (oihw.sizes() != conv->weight.sizes()) {
    throw setup_error(source + ": kernel of layer " + layer + " has the wrong shape");
  }
  conv->weight.copy_(oihw);
  if (conv->options.bias()) {
    const auto bias = weights.find(layer + "/bias");
    if (bias == weights.end() || bias->second.sizes() != conv->bias.sizes()) {
      throw setup_error(source + ": missing or misshapen bias for layer " + layer);
    }
    conv->bias.copy_(bias->second);
  }
}

}  // namespace srkit
