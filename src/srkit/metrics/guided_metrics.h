// Each guided task's metrics, as its benchmarks report them (methods.md sections 4 and 5):
//   depth  RMSE in the map's units on a 6-pixel-cropped map, unknown pixels excluded and counted;
//   pan    PSNR (on the scene's [0,1] scale), SAM (degrees), ERGAS, Q2^n (Q4 for 4 bands), SCC;
//   mri    PSNR and SSIM on the 0..255 scale of [0,1] intensities, no crop.
//
//   for (auto& [name, value] : srkit::guided_metrics(task, sr, hr, 4)) ...
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "srkit/core/guided_task.h"

namespace srkit {

using NamedValues = std::vector<std::pair<std::string, double>>;

// `estimate` and `reference` are [C, H, W] of the same shape; `scale` is the resolution ratio
// (ERGAS's ratio); `depth_crop` the pixels cut off every side of a depth map. Lower is better for
// rmse, sam, ergas; higher for the others.
NamedValues guided_metrics(GuidedTask task, const torch::Tensor& estimate,
                           const torch::Tensor& reference, int64_t scale, int64_t depth_crop = 6);

// The mean of several results of one task (same metrics, same order); depth's pixel counts
// "compared" and "unknown" are summed instead.
NamedValues mean_guided_metrics(const std::vector<NamedValues>& results);

// Whether a larger value of the metric is better.
bool higher_is_better(const std::string& metric);

}  // namespace srkit
