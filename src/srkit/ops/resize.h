// MATLAB-compatible bicubic resizing (imresize with 'bicubic' and antialiasing), the standard way
// SR benchmarks make low-resolution inputs, and srkit's filter for scales a model does not offer.
#pragma once

#include <torch/types.h>

namespace srkit {

// Resizes the last two dimensions of `image` to out_h x out_w. Like MATLAB's imresize: cubic kernel
// with a = -0.5, symmetric (mirror) borders, and when shrinking the kernel is widened by 1/scale
// (antialiasing). The scale per axis is out/in.
torch::Tensor resize_bicubic(const torch::Tensor& image, int64_t out_h, int64_t out_w);

// imresize(image, scale): output size ceil(in * scale) per axis, kernel scale exactly `scale`.
torch::Tensor resize_bicubic(const torch::Tensor& image, double scale);

// The dense [out, in] matrix of the 1-D MATLAB bicubic resampling along one axis (rows sum to
// one), for tests and analysis; resize_bicubic itself works tap by tap, in linear time.
torch::Tensor bicubic_weights(int64_t in_length, int64_t out_length, double scale);

}  // namespace srkit
