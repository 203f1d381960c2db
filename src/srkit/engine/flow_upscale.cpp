#include "srkit/engine/flow_upscale.h"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>

#include "srkit/core/clock.h"
#include "srkit/core/error.h"
#include "srkit/core/runtime.h"
#include "srkit/engine/memory_budget.h"

namespace srkit {
namespace {

int64_t round_up(int64_t value, int64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

// float32 values the sampler holds per output pixel and channel: the noisy image, its velocity,
// Heun's prediction and second velocity, the padded condition, the noise, the sample.
constexpr int64_t kStateValuesPerSample = 7;

// The kept side of the largest square window whose pass fits `budget` bytes, and at least twice
// the context: smaller windows would compute their context many times over (a budget too small
// for that is exceeded rather than spent on windows that are mostly context).
int64_t tile_for_budget(FlowUNetImpl& network, int64_t budget, int64_t context) {
  const int64_t multiple = network.size_multiple();
  const double side = std::sqrt(static_cast<double>(budget) / network.peak_bytes_per_pixel());
  const int64_t kept = static_cast<int64_t>(side) - 2 * context;
  return std::max(round_up(2 * context, multiple), kept / multiple * multiple);
}

}  // namespace

torch::Tensor flow_upscale(FlowModel& model, const torch::Tensor& lr,
                           const FlowUpscaleOptions& options, const ProgressFn& progress,
                           FlowUpscaleReport* facts_out) {
  if (lr.dim() != 3 || lr.size(0) != 3) {
    throw usage_error("{{model}} " + model.card().name + " takes RGB images ([3,h,w])");
  }
  auto& network = model.network();
  FlowSampling sampling = model.settings().sampling;
  if (options.steps > 0) sampling.steps = options.steps;
  if (!options.solver.empty()) sampling.solver = flow_solver_from_name(options.solver);

  const int64_t multiple = network.size_multiple();
  const int64_t context = round_up(network.receptive_radius(), multiple);
  const int64_t height = round_up(lr.size(1) * model.settings().scale, multiple);
  const int64_t width = round_up(lr.size(2) * model.settings().scale, multiple);
  // The windows get what the runtime, the weights, the input and the sampler's state leave.
  const int64_t state = kStateValuesPerSample * 4 * height * width * lr.size(0);
  const auto shares =
      share_memory(options.max_memory > 0 ? options.max_memory : default_memory_budget(lr.device()),
                   model.card(), lr.numel() * lr.element_size(), state);
  int64_t tile = options.tile > 0 ? round_up(options.tile, multiple)
                                  : tile_for_budget(network, shares.pass, context);
  tile = std::min(tile, std::max(height, width));
  const int64_t rows = (height + tile - 1) / tile, columns = (width + tile - 1) / tile;
  const int64_t evaluations = velocity_evaluations(sampling);

  FlowUpscaleReport facts;
  facts.tile = tile;
  facts.windows = rows * columns;
  facts.context = context;
  facts.evaluations = evaluations;
  facts.memory = shares;
  // The largest window: the kept part and its context, cut by the image's edges.
  const auto window_height = static_cast<double>(std::min(height, tile + 2 * context));
  const auto window_width = static_cast<double>(std::min(width, tile + 2 * context));
  facts.window_pass =
      static_cast<int64_t>(network.peak_bytes_per_pixel() * window_height * window_width);
  facts.memory.over = shares.over || facts.window_pass > shares.pass;
  int64_t done = 0;
  const int64_t total = evaluations * facts.windows;

  const GridVelocityFn tiled = [&](const torch::Tensor& x, const torch::Tensor& condition,
                                   double s) {
    auto velocity = torch::empty_like(x);
    const auto level = torch::full({x.size(0)}, s, x.options());
    for (int64_t top = 0; top < x.size(2); top += tile) {
      for (int64_t left = 0; left < x.size(3); left += tile) {
        const int64_t bottom = std::min(top + tile, x.size(2));
        const int64_t right = std::min(left + tile, x.size(3));
        const int64_t y0 = std::max<int64_t>(0, top - context);
        const int64_t x0 = std::max<int64_t>(0, left - context);
        const int64_t y1 = std::min(x.size(2), bottom + context);
        const int64_t x1 = std::min(x.size(3), right + context);
        const auto start = SteadyClock::now();
        const auto v = network.forward(x.slice(2, y0, y1).slice(3, x0, x1),
                                       condition.slice(2, y0, y1).slice(3, x0, x1), level);
        velocity.slice(2, top, bottom)
            .slice(3, left, right)
            .copy_(v.slice(2, top - y0, bottom - y0).slice(3, left - x0, right - x0));
        facts.model_seconds += seconds_since(start);
        if (!report(progress, ++done, total)) throw Error(ErrorKind::kCancelled, "interrupted");
      }
    }
    return velocity;
  };
  auto sample = model.sample(lr.unsqueeze(0), options.seed, sampling, tiled);
  if (facts_out) *facts_out = facts;
  return sample[0].clamp(0, 1).to(torch::kCPU);
}

}  // namespace srkit
