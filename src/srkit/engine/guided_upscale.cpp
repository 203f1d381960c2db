#include "srkit/engine/guided_upscale.h"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/core/runtime.h"
#include "srkit/engine/tiling.h"
#include "srkit/models/guided_model.h"
#include "srkit/ops/unit_range.h"

namespace srkit {
namespace {

// One window covering the image when its activations fit the budget; otherwise square tiles of
// target pixels as large as fit, with the context and overlap of `tiling`.
TilePlan plan_guided_tiles(int64_t h, int64_t w, int64_t scale, double bytes_per_pixel,
                           const GuidedTiling& tiling, const torch::Device& device) {
  const double budget = static_cast<double>(tiling.max_memory > 0 ? tiling.max_memory
                                                                  : default_memory_budget(device));
  const double bytes_per_target_pixel = bytes_per_pixel * static_cast<double>(scale * scale);
  TileOptions options;
  options.pad = std::max<int64_t>(0, tiling.pad);
  options.overlap = std::max<int64_t>(0, tiling.overlap);
  options.tile = tiling.tile;
  if (options.tile <= 0) {
    if (static_cast<double>(h * w) * bytes_per_target_pixel <= budget) {
      options.tile = std::max(h, w);  // one window: the whole image
      options.pad = 0;
      options.overlap = 0;
    } else {
      const auto window = static_cast<int64_t>(std::sqrt(budget / bytes_per_target_pixel));
      options.tile = std::max<int64_t>(8, window - 2 * options.pad - options.overlap);
    }
  }
  return plan_tiles(h, w, ModelCard{}, options, device);
}

}  // namespace

torch::Tensor guided_model_upscale(Model& model, GuidedTask task, const torch::Tensor& target_lr,
                                   const torch::Tensor& guide,
                                   std::vector<torch::Tensor>* expert_counts,
                                   const GuidedTiling& tiling, const ProgressFn& progress) {
  const auto task_name = guided_task_info(task).name;
  const auto& tasks = model.card().tasks;
  if (model.card().inputs != std::vector<std::string>{"guide"} ||
      std::find(tasks.begin(), tasks.end(), task_name) == tasks.end()) {
    throw usage_error("{{model}} " + model.card().name + " is not a guided model for the task " +
                      task_name);
  }
  torch::NoGradGuard no_grad;
  const int64_t h = target_lr.size(1), w = target_lr.size(2);
  const int64_t scale = guide.size(1) / h;
  if (scale < 1 || guide.size(1) != h * scale || guide.size(2) != w * scale) {
    throw usage_error("the guide is not on the target's grid times one integer scale");
  }
  const auto target = scale_to_unit(target_lr.unsqueeze(0).to(torch::kFloat));
  auto g = scale_to_unit(guide.unsqueeze(0).to(torch::kFloat));
  if (g.values.size(1) == 1 && guided_task_info(task).guide_channels == 3) {
    g.values = g.values.expand({-1, 3, -1, -1});  // a gray photo guiding depth
  }
  const auto plan = plan_guided_tiles(h, w, scale, model.card().peak_bytes_per_input_pixel, tiling,
                                      target_lr.device());
  const WindowForward forward = [&](int64_t top, int64_t left) {
    ModelInput input;
    input.image =
        target.values.slice(2, top, top + plan.window_h).slice(3, left, left + plan.window_w);
    input.extras["guide"] = g.values.slice(2, top * scale, (top + plan.window_h) * scale)
                                .slice(3, left * scale, (left + plan.window_w) * scale);
    input.task = task_name;
    input.top = top;
    input.left = left;
    ModelDiagnostics diagnostics;
    auto out = model.run(input, expert_counts ? &diagnostics : nullptr);
    if (expert_counts) {
      for (size_t l = 1; diagnostics.count("experts." + std::to_string(l)); ++l) {
        expert_counts->resize(std::max(expert_counts->size(), l));
        const auto& counts = diagnostics.at("experts." + std::to_string(l));
        auto& total = (*expert_counts)[l - 1];
        total = total.defined() ? total + counts : counts;
      }
    }
    return out[0];
  };
  const auto unit = blend_windows(plan, h, w, scale, target_lr.size(0), target.values.options(),
                                  forward, progress);
  return unit * target.span[0] + target.low[0];
}

torch::Tensor guided_model_upscale(MagNetImpl& network, GuidedTask task,
                                   const torch::Tensor& target_lr, const torch::Tensor& guide,
                                   std::vector<torch::Tensor>* expert_counts,
                                   const GuidedTiling& tiling, const ProgressFn& progress) {
  GuidedModel model(MagNet(std::dynamic_pointer_cast<MagNetImpl>(network.shared_from_this())),
                    nlohmann::json::object(), "");
  return guided_model_upscale(model, task, target_lr, guide, expert_counts, tiling, progress);
}

}  // namespace srkit
