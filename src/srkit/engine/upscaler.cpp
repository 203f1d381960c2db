#include "srkit/engine/upscaler.h"

#include <algorithm>
#include <cmath>

#include "srkit/core/error.h"
#include "srkit/core/runtime.h"
#include "srkit/engine/external_program.h"
#include "srkit/models/registry.h"

namespace srkit {
namespace {

double preferred_scale(const std::vector<int64_t>& offered) {
  if (offered.size() == 1) return static_cast<double>(offered.front());
  return std::find(offered.begin(), offered.end(), 4) != offered.end()
             ? 4.0
             : static_cast<double>(offered.front());
}

Upscaler open_program(const UpscalerChoice& choice) {
  if (!(choice.scale > 0)) throw usage_error("{{command}} needs {{scale}} (the program's scale)");
  ExternalProgramOptions options;
  options.timeout_seconds = choice.command_timeout;
  options.progress = choice.command_progress;
  auto program = std::make_shared<ExternalUpscaler>(choice.command, choice.scale, options);
  Upscaler out;
  out.name = choice.command;
  out.scale = choice.scale;
  out.identity = command_identity(choice.command);
  out.run = [program](const torch::Tensor& lr) { return (*program)(lr); };
  return out;
}

// This engine upscales images; models that need more (a guide) run through guided_upscale.h.
void require_single_image(const Model& model) {
  if (model.card().inputs.empty()) return;
  throw usage_error("{{model}} " + model.card().name + " is a " + model.card().task +
                    " model that needs more than an image: run it with `srkit guide --model` "
                    "and a guide image");
}

}  // namespace

Upscaler open_upscaler(const UpscalerChoice& choice, const torch::Device& device) {
  if (!choice.command.empty()) return open_program(choice);
  Upscaler out;
  // A model given by path has the one scale of its file: load it once and take that.
  std::vector<int64_t> offered;
  if (is_model_path(choice.model)) {
    out.model = load_model({choice.model, 0, choice.model_range});
    require_single_image(*out.model);
    offered = {out.model->card().scale};
  } else {
    offered = find_model(choice.model).scales;
  }
  out.scale = choice.scale > 0 ? choice.scale : preferred_scale(offered);
  if (out.scale <= 0 || out.scale > 32) throw usage_error("{{scale}} must be in (0, 32]");
  out.native_scale = choose_native_scale(offered, out.scale);
  if (!out.model) out.model = load_model({choice.model, out.native_scale, choice.model_range});
  const bool bfloat16 = choice.bfloat16 && fast_bfloat16(device);
  if (choice.bfloat16 && !bfloat16) {
    out.note =
        "this CPU has neither AVX512-BF16 nor AMX, so bf16 would be emulated and slower: "
        "running fp32";
  }
  // bf16 runs on oneDNN's channels-last kernels; fp32 takes the layout the CPU prefers.
  out.model->prepare(device, bfloat16 || prefer_channels_last(device));
  if (bfloat16) {
    out.model->set_precision(torch::kBFloat16);  // a usage Error if the model has no bf16
    out.precision = "bf16";
  }
  out.name = out.model->card().name;
  out.identity = model_identity(out.model->card());
  out.options = choice.options;
  out.options.scale = out.scale;
  Model* model = out.model.get();
  const auto options = out.options;
  out.run = [model, options, device](const torch::Tensor& lr) {
    return upscale(*model, lr.to(device), options);
  };
  return out;
}

int64_t Upscaler::context() const {
  if (!model) return 0;
  return static_cast<int64_t>(std::ceil(model->card().receptive_radius)) + (resized() ? 2 : 0);
}

}  // namespace srkit
