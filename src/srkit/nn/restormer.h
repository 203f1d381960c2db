// Restormer's building blocks (Zamir et al. 2022; methods.md section 4), the trunk of MAG-Net:
// channel LayerNorm with bias, MDTA (multi-Dconv head transposed attention: attention across
// channels, so its cost is linear in the pixels), GDFN (gated-Dconv feed-forward), the block
// x += MDTA(LN(x)); x += GDFN(LN(x)), and the pixel-(un)shuffle down/up samplers. No biases in
// convolutions, as the authors' default.
//
//   srkit::TransformerBlock block(48, /*heads=*/2, /*expansion=*/2.66);
//   torch::Tensor y = block->forward(x);   // [N,48,H,W] -> [N,48,H,W]
#pragma once

#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

namespace srkit {

// (x - mean) / sqrt(biased var + 1e-5) * weight + bias over the channels of each pixel.
class ChannelLayerNormImpl : public torch::nn::Module {
 public:
  explicit ChannelLayerNormImpl(int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::Tensor weight_, bias_;
};
TORCH_MODULE(ChannelLayerNorm);

class MdtaImpl : public torch::nn::Module {
 public:
  MdtaImpl(int64_t channels, int64_t heads);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  int64_t heads_;
  torch::Tensor temperature_;  // [heads, 1, 1], starts at 1
  torch::nn::Conv2d qkv_{nullptr}, qkv_depthwise_{nullptr}, project_out_{nullptr};
};
TORCH_MODULE(Mdta);

class GdfnImpl : public torch::nn::Module {
 public:
  GdfnImpl(int64_t channels, double expansion);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d project_in_{nullptr}, depthwise_{nullptr}, project_out_{nullptr};
};
TORCH_MODULE(Gdfn);

class TransformerBlockImpl : public torch::nn::Module {
 public:
  TransformerBlockImpl(int64_t channels, int64_t heads, double expansion);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  ChannelLayerNorm norm1_{nullptr}, norm2_{nullptr};
  Mdta attention_{nullptr};
  Gdfn feed_forward_{nullptr};
};
TORCH_MODULE(TransformerBlock);

// `count` blocks in sequence.
torch::nn::Sequential transformer_stage(int64_t channels, int64_t heads, double expansion,
                                        int64_t count);

// Conv3x3 (C -> C/2) + pixel unshuffle by 2: [N,C,H,W] -> [N,2C,H/2,W/2].
class DownsampleImpl : public torch::nn::Module {
 public:
  explicit DownsampleImpl(int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d conv_{nullptr};
};
TORCH_MODULE(Downsample);

// Conv3x3 (C -> 2C) + pixel shuffle by 2: [N,C,H,W] -> [N,C/2,2H,2W].
class UpsampleImpl : public torch::nn::Module {
 public:
  explicit UpsampleImpl(int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d conv_{nullptr};
};
TORCH_MODULE(Upsample);

// A bias-free k x k convolution with "same" padding (the blocks' and MAG-Net's convolutions).
torch::nn::Conv2d same_conv(int64_t in, int64_t out, int64_t kernel, int64_t groups = 1);

}  // namespace srkit
