// The velocity network of srkit's rectified-flow upscaler (seed 001's flow model, at the scale of
// a CPU): a U-Net on the output grid that sees the noisy image x_s, the low-resolution image
// upsampled to the same grid (the condition) and the noise level s, and predicts the velocity
// v = e - x (x_s = (1 - s) x + s e).
//
// Every layer is local, so a window of the image gives the whole image's result inside it: the
// normalisation is per pixel over channels (not GroupNorm's statistics over the image), there is no
// global attention, and the resolution halves only by stride-2 convolutions on a grid that windows
// at multiples of size_multiple() share. A tiled sampler pads each window by receptive_radius().
//
//   srkit::FlowUNet net(srkit::FlowUNetOptions{});          // the CPU configuration
//   torch::Tensor v = net->forward(x_s, condition, s);     // [N,3,H,W], [N,3,H,W], [N] ->
//   [N,3,H,W]
#pragma once

#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>
#include <nlohmann/json.hpp>

namespace srkit {

struct FlowUNetOptions {
  int64_t image_channels = 3;                 // x_s and the velocity
  int64_t condition_channels = 3;             // the upsampled low-resolution image
  int64_t channels = 32;                      // at full resolution
  std::vector<int64_t> multipliers{1, 2, 4};  // channels per level, x `channels`; a level halves
  int64_t blocks = 2;                         // residual blocks per level, each way
  int64_t embedding = 128;                    // the noise level's embedding

  // The configuration for a GPU: wider and deeper.
  static FlowUNetOptions gpu() { return {3, 3, 96, {1, 2, 3, 4}, 2, 384}; }
};

nlohmann::json to_json(const FlowUNetOptions& options);
// Throws a usage Error naming the key for unknown keys or out-of-range values.
FlowUNetOptions flow_unet_options(const nlohmann::json& config);

// Per-pixel normalisation over channels with a learned scale and shift (ConvNeXt's "channels
// first" LayerNorm): no statistic crosses pixels, so windows agree with the whole image.
class PixelNormImpl : public torch::nn::Module {
 public:
  explicit PixelNormImpl(int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::Tensor weight_, bias_;
};
TORCH_MODULE(PixelNorm);

// norm -> SiLU -> conv -> FiLM by the embedding -> norm -> SiLU -> conv, plus the input (through
// a 1x1 conv when the channel count changes).
class FlowResBlockImpl : public torch::nn::Module {
 public:
  FlowResBlockImpl(int64_t in, int64_t out, int64_t embedding);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& embedding);

 private:
  PixelNorm norm1_{nullptr}, norm2_{nullptr};
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, skip_{nullptr};
  torch::nn::Linear film_{nullptr};
};
TORCH_MODULE(FlowResBlock);

class FlowUNetImpl : public torch::nn::Module {
 public:
  explicit FlowUNetImpl(const FlowUNetOptions& options);

  // x_s [N,image_channels,H,W], condition [N,condition_channels,H,W], s [N] in [0,1] ->
  // velocity [N,image_channels,H,W]. H and W are multiples of size_multiple().
  // `encoder_features`, when given, has one map per level ([N, level_widths()[l], H/2^l, W/2^l]),
  // added to the encoder's features at the end of that level (what its skip connection carries
  // and the next level reads): a structure adapter's conditioning (nn/structure_adapter.h).
  torch::Tensor forward(const torch::Tensor& x_s, const torch::Tensor& condition,
                        const torch::Tensor& s,
                        const std::vector<torch::Tensor>& encoder_features = {});

  // Channels of each level's features, from full resolution down.
  std::vector<int64_t> level_widths() const;

  const FlowUNetOptions& options() const { return options_; }
  // Sides a multiple of this (2^(levels-1)); windows start at multiples of it.
  int64_t size_multiple() const;
  // Pixels from an output pixel to the farthest input pixel it depends on (a bound).
  int64_t receptive_radius() const;
  int64_t parameter_count() const;
  // Per output pixel, one evaluation: multiply-adds counted as 2 (the convolutions).
  double flops_per_pixel() const;
  // Bytes a forward pass holds per pixel of its window (measured), for sizing windows.
  double peak_bytes_per_pixel() const;

 private:
  FlowUNetOptions options_;
  torch::nn::Linear embed1_{nullptr}, embed2_{nullptr};
  torch::nn::Conv2d input_{nullptr}, output_{nullptr};
  torch::nn::ModuleList down_blocks_, downsamples_, middle_, up_blocks_, upsamples_;
  PixelNorm output_norm_{nullptr};
};
TORCH_MODULE(FlowUNet);

// The sinusoidal embedding of noise levels s [N] (scaled by 1000, as diffusion models embed
// timesteps): [N, dims], half sines, half cosines, frequencies geometric from 1 to 1/10000.
torch::Tensor noise_level_embedding(const torch::Tensor& s, int64_t dims);

}  // namespace srkit
