// Colour conversions used by metrics and models.
#pragma once

#include <torch/types.h>

namespace srkit {

// BT.601 luma as SR papers compute it (BasicSR's rgb2ycbcr, y_only): for RGB in [0,1],
// Y = 16 + 65.481 R + 128.553 G + 24.966 B, on the 0..255 scale, not rounded.
// Input [3,H,W] or [N,3,H,W]; a single-channel image is returned as itself times 255.
torch::Tensor rgb_to_y255(const torch::Tensor& rgb);

}  // namespace srkit
