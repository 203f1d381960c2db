// Values brought to [0,1] by their own range, the way guided models see their inputs (a depth map
// in millimetres, a multispectral band in digital numbers and an MR slice alike).
#pragma once

#include <torch/types.h>

namespace srkit {

// [N,C,H,W] (finite) to [0,1] per sample: (x - min) / (max - min); a constant sample maps to 0
// with range 1.
struct UnitScaled {
  torch::Tensor values, low, span;  // low and span: [N,1,1,1]
};
UnitScaled scale_to_unit(const torch::Tensor& batch);

}  // namespace srkit
