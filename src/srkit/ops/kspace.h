// MR-style low resolution: keep the centre of k-space. The 2-D FFT of the image, the central
// (H/f) x (W/f) frequencies, the inverse FFT at the small size, scaled by 1/f^2 so intensities
// keep their level. This is how MR scanners acquire lower resolution (methods.md, MAG-Net's MRI
// protocol); bicubic downscaling is the alternative.
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace srkit {

// [C, H, W] -> [C, H/factor, W/factor] real; H and W must be multiples of `factor`.
torch::Tensor kspace_downsample(const torch::Tensor& image, int64_t factor);

}  // namespace srkit
