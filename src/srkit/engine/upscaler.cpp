#include "srkit/engine/upscaler.h"

#include <algorithm>
#include <cmath>

#include "srkit/core/error.h"
#include "srkit/core/runtime.h"
#include "srkit/engine/external_program.h"
#include "srkit/engine/flow_upscale.h"
#include "srkit/engine/multimodal_upscale.h"
#include "srkit/models/flow_model.h"
#include "srkit/models/registry.h"
#include "srkit/ops/resize.h"

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
// A multi-modal model's maps are made from the image (multimodal_upscale.h).
void require_single_image(const Model& model) {
  if (model.card().inputs.empty() || model.card().task == "multimodal") return;
  throw usage_error("{{model}} " + model.card().name + " is a " + model.card().task +
                    " model that needs more than an image: run it with `srkit guide --model` "
                    "and a guide image");
}

// A sample of a flow model for an image of any layout: gray runs as RGB and is written back as
// the channel mean; an alpha channel is resized with MATLAB bicubic (exact on opaque images).
SamplingFn sample_function(FlowModel& model, const FlowUpscaleOptions& options,
                           const torch::Device& device) {
  return [&model, options, device](const torch::Tensor& image, uint64_t seed,
                                   const ProgressFn& progress, FlowUpscaleReport* report) {
    const int64_t channels = image.size(0);
    if (channels != 1 && channels != 3 && channels != 4) {
      throw usage_error("{{model}} " + model.card().name + " takes gray, RGB or RGBA images");
    }
    const auto rgb =
        channels == 1 ? image.expand({3, image.size(1), image.size(2)}) : image.slice(0, 0, 3);
    auto seeded = options;
    seeded.seed = seed;
    auto out = flow_upscale(model, rgb.to(device), seeded, progress, report);
    if (channels == 1) return out.mean(0, true);
    if (channels == 4) {
      const auto alpha = resize_bicubic(image.slice(0, 3, 4).to(torch::kCPU).to(torch::kFloat),
                                        out.size(1), out.size(2));
      out = torch::cat({out, alpha.clamp(0, 1)}, 0);
    }
    return out;
  };
}

void check_sampling_choice(const UpscalerChoice& choice, const Upscaler& out) {
  const bool asked = choice.seed.has_value() || choice.steps > 0 || !choice.solver.empty();
  if (asked && !out.generative()) {
    throw usage_error(
        "{{seed}}, {{steps}} and {{sampler}} choose a sample of a generative model; " + out.name +
        " is a " + out.model->card().task + " model whose output is one image");
  }
  if (out.generative() && out.scale != static_cast<double>(out.native_scale)) {
    throw usage_error("{{scale}}: " + out.name + " samples at x" +
                      std::to_string(out.native_scale) + " only");
  }
  if (!choice.solver.empty() && choice.solver != "euler" && choice.solver != "heun") {
    throw usage_error("{{sampler}} " + choice.solver + ": use euler or heun");
  }
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
  check_sampling_choice(choice, out);
  Model* model = out.model.get();
  if (out.generative()) {
    FlowUpscaleOptions sampling;
    sampling.seed = choice.seed.value_or(0);
    sampling.steps = choice.steps;
    sampling.solver = choice.solver;
    sampling.tile = choice.options.tiling.tile * out.native_scale;
    sampling.max_memory = choice.options.max_memory;
    auto& flow = dynamic_cast<FlowModel&>(*model);
    out.sampling = {
        {"seed", sampling.seed},
        {"steps", sampling.steps > 0 ? sampling.steps : flow.settings().sampling.steps},
        {"solver", sampling.solver.empty() ? flow_solver_name(flow.settings().sampling.solver)
                                           : sampling.solver}};
    // Its samples' distribution depends on the sampler too: a calibration holds for these.
    out.identity["sampling"] = {{"steps", out.sampling["steps"]},
                                {"solver", out.sampling["solver"]}};
    out.sample = sample_function(flow, sampling, device);
    out.seed = sampling.seed;
    out.run = [sample = out.sample, seed = out.seed](const torch::Tensor& lr) {
      return sample(lr, seed, {}, nullptr);
    };
    return out;
  }
  if (out.multimodal()) {
    if (out.scale != static_cast<double>(out.native_scale)) {
      throw usage_error("{{scale}}: " + out.name + " upscales x" +
                        std::to_string(out.native_scale) + " only");
    }
    const auto tiling = out.options.tiling;
    out.run = [model, tiling, device](const torch::Tensor& lr) {
      return multimodal_upscale(*model, lr.to(device), {}, tiling).image;
    };
    return out;
  }
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
