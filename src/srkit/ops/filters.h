// Smoothing filters and statistics on tensors: local means for patch statistics, Gaussian
// smoothing of score and error maps, and quantiles.
#pragma once

#include <torch/types.h>

namespace srkit {

// Mean over the kernel x kernel box centred on each pixel of the last two dimensions; at the
// borders only pixels inside the image count. kernel must be odd; 1 returns the input.
torch::Tensor box_mean(const torch::Tensor& image, int64_t kernel);

// Gaussian smoothing of the last two dimensions with standard deviation `sigma` pixels, the kernel
// cut at 4 sigma and the image extended by its edge pixels (skimage.filters.gaussian's defaults).
// sigma 0 returns the input.
torch::Tensor gaussian_blur(const torch::Tensor& image, double sigma);

// The q-quantile of all elements, interpolating linearly between order statistics (numpy's
// default); works beyond torch::quantile's 16M-element limit.
double quantile_value(const torch::Tensor& values, double q);

}  // namespace srkit
