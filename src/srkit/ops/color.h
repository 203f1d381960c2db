// Colour conversions used by metrics and models.
#pragma once

#include <torch/types.h>

namespace srkit {

// BT.601 luma as SR papers compute it (BasicSR's rgb2ycbcr, y_only): for RGB in [0,1],
// Y = 16 + 65.481 R + 128.553 G + 24.966 B, on the 0..255 scale, not rounded.
// Input [3,H,W] or [N,3,H,W]; a single-channel image is returned as itself times 255.
torch::Tensor rgb_to_y255(const torch::Tensor& rgb);

// BT.601 luma weights on the channels as they are: 0.299 R + 0.587 G + 0.114 B, no offset and no
// scale (MATLAB's rgb2gray, OpenCV's RGB2GRAY). [C,H,W] -> [H,W]: the first three channels of a
// colour image (alpha ignored), the one channel of a gray one.
torch::Tensor rgb_to_gray(const torch::Tensor& image);

// The colour channels of a [C,H,W] image as [3,H,W]: gray repeated (R=G=B), alpha dropped.
torch::Tensor as_rgb(const torch::Tensor& image);

// CIE L*a*b* of sRGB in [0,1] (sRGB transfer curve, D65 white), the constants of
// skimage.color.rgb2lab: L in [0,100], a and b within about +-110. Channels are dimension -3.
torch::Tensor rgb_to_lab(const torch::Tensor& rgb);

// Lab scaled so every channel of every sRGB colour lies in [0,1]: (L/100, a/254 + 1/2,
// b/254 + 1/2), as the conformal SR paper's code does; then an L1 distance over the channels is at
// most 3.
torch::Tensor rgb_to_unit_lab(const torch::Tensor& rgb);

}  // namespace srkit
