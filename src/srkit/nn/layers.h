// Building blocks shared by the imported Keras graphs and srkit's native networks.
//
//   auto y = srkit::cat_channels({a, b});                 // fast for channels-last tensors too
//   auto hr = srkit::upsample_conv(x, conv->weight, conv->bias, 4);  // nearest x4, then the conv
#pragma once

#include <map>
#include <string>
#include <vector>

#include <torch/nn/modules/conv.h>
#include <torch/types.h>

namespace srkit {

// Stores every 4-D parameter (convolution kernels) of `module` channels-last (oneDNN's fast
// layout on CPU: ~4x faster convolutions here) or contiguous.
void set_channels_last(torch::nn::Module& module, bool channels_last);

// Concatenation along channels. Debian's LibTorch 1.13 concatenates channels-last tensors on dim 1
// through a slow generic path; for them this concatenates NHWC views on the last dimension.
torch::Tensor cat_channels(const std::vector<torch::Tensor>& parts);

// TF's depth_to_space: input channels ordered (block_row, block_col, channel), unlike torch's
// pixel_shuffle (channel, block_row, block_col). NCHW in and out.
torch::Tensor depth_to_space_tf(const torch::Tensor& x, int64_t block);

// "Nearest upsampling by s, then a stride-1 'same' conv with `weight` [O,I,kh,kw]" rewritten as one
// conv on the low-resolution grid with O*s*s outputs (phase (a,b) of channel c at c*s*s + a*s + b,
// torch's pixel_shuffle order). Differentiable in `weight`, so networks train through it.
torch::Tensor upsample_conv_weight(const torch::Tensor& weight, int64_t s);

// pixel_shuffle(conv(x, upsample_conv_weight(weight, s), bias repeated s*s times), s): the same
// result as the literal upsample-then-conv, without the upsampled intermediate.
torch::Tensor upsample_conv(const torch::Tensor& x, const torch::Tensor& weight,
                            const torch::Tensor& bias, int64_t s);

// Copies Keras weights "<layer>/kernel" (HWIO) and "<layer>/bias" into `conv` (OIHW). Throws a
// setup Error naming `source` and the layer when either is missing or misshapen.
void load_keras_conv(torch::nn::Conv2d& conv, const std::string& layer,
                     const std::map<std::string, torch::Tensor>& weights,
                     const std::string& source);

}  // namespace srkit
