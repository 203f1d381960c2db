// Sampling a flow model over an image of any size: every velocity of the sampler runs over the
// whole output grid in windows that keep `tile` pixels and read the network's receptive radius
// around them, at offsets the network's strides share. The sample is the whole-image one for the
// seed (noise keyed by pixel, models/flow_model.h), and only the sampler's state (the noisy image
// and its velocities, a few floats per output pixel) is whole.
//
//   srkit::FlowUpscaleOptions options;  options.seed = 3;  options.steps = 28;
//   torch::Tensor hr = srkit::flow_upscale(model, lr, options);   // [3,H,W] in [0,1]
#pragma once

#include <cstdint>
#include <string>

#include <torch/types.h>

#include "srkit/core/progress.h"
#include "srkit/engine/memory_budget.h"
#include "srkit/models/flow_model.h"

namespace srkit {

struct FlowUpscaleOptions {
  uint64_t seed = 0;
  int64_t steps = 0;   // 0: the model's
  std::string solver;  // "euler" / "heun"; "": the model's
  int64_t tile = 0;    // output pixels a window keeps per side; 0: the largest max_memory allows
  // Bytes the whole sampling may use (runtime, weights, the sampler's state, one window's pass);
  // 0 = default_memory_budget.
  int64_t max_memory = 0;
};

struct FlowUpscaleReport {
  int64_t tile = 0;         // output pixels kept per window side
  int64_t windows = 0;      // per velocity
  int64_t context = 0;      // output pixels read around a window's kept part
  int64_t evaluations = 0;  // velocities
  double model_seconds = 0;
  // The budget's shares; `memory.over` when a window's pass needs more than `memory.pass` (windows
  // are kept at least twice the context, so a small budget is exceeded rather than spent on
  // windows that are mostly context).
  MemoryShares memory;
  int64_t window_pass = 0;  // bytes a window's pass holds (the network's measured bytes per pixel)
};

// lr [3,h,w] in [0,1] -> one sample [3, h*scale, w*scale] in [0,1] (clamped) on the CPU. Progress
// counts windows over all velocities; cancelling throws a kCancelled Error.
torch::Tensor flow_upscale(FlowModel& model, const torch::Tensor& lr,
                           const FlowUpscaleOptions& options, const ProgressFn& progress = {},
                           FlowUpscaleReport* report = nullptr);

}  // namespace srkit
