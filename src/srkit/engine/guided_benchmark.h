// A guided-SR method run over benchmark scenes with the task's protocol: each scene's target and
// guide are cropped to a multiple of the scale, the low-resolution target is made by the protocol
// (data/guided_protocol.h), the method upscales it with the guide, and the task's metrics
// (metrics/guided_metrics.h) compare the result with the target. Results per scene and means per
// dataset (the part of a scene's name before '/': their units differ, so datasets are never
// averaged together).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "srkit/core/progress.h"
#include "srkit/data/guided_protocol.h"
#include "srkit/metrics/guided_metrics.h"

namespace srkit {

struct BenchmarkScene {
  std::string name;
  torch::Tensor target, guide;  // [C,H,W] high resolution and [G,H,W] on the same grid
};

// Upscales target_lr [C,h,w] with guide [G,H,W] to [C,H,W].
using GuidedUpscaler =
    std::function<torch::Tensor(const torch::Tensor& target_lr, const torch::Tensor& guide)>;

struct BenchmarkRow {
  std::string name;  // a scene, or "mean <dataset>"
  NamedValues metrics;
};

struct BenchmarkResult {
  std::vector<BenchmarkRow> scenes;
  std::vector<BenchmarkRow> dataset_means;  // depth's "compared"/"unknown" are summed, not averaged
};

BenchmarkResult run_guided_benchmark(GuidedTask task, const std::vector<BenchmarkScene>& scenes,
                                     int64_t scale, const GuidedUpscaler& upscaler,
                                     MriDownsampling mri = MriDownsampling::kKspace,
                                     const ProgressFn& progress = {});

}  // namespace srkit
