// Depth super-resolution error: RMSE over the known pixels of a cropped map (DKN convention: 6
// pixels off every side), in the maps' own units, with the count of excluded unknown pixels.
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace srkit {

struct DepthError {
  double rmse = 0;
  int64_t compared = 0;  // pixels in the crop with a finite reference
  int64_t unknown = 0;   // pixels in the crop whose reference is NaN/inf (excluded)
};

// `estimate` and `reference` are [H, W]; a non-finite estimate where the reference is known is an
// error of infinity (it is not excused).
DepthError depth_rmse(const torch::Tensor& estimate, const torch::Tensor& reference,
                      int64_t crop = 6);

}  // namespace srkit
