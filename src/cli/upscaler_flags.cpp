#include "upscaler_flags.h"

#include <algorithm>

#include <fmt/format.h>

#include "common.h"
#include "srkit/conformal/calibration_file.h"
#include "srkit/engine/external_program.h"
#include "srkit/models/registry.h"

namespace srkit::cli {
namespace {

double preferred_scale(const std::vector<int64_t>& offered) {
  if (offered.size() == 1) return static_cast<double>(offered.front());
  return std::find(offered.begin(), offered.end(), 4) != offered.end()
             ? 4.0
             : static_cast<double>(offered.front());
}

}  // namespace

void add_upscaler_flags(CLI::App& command, UpscalerFlags& flags, bool choose_model) {
  if (choose_model) {
    command.add_option("-m,--model", flags.model, "model name (see `srkit models`) or model.json")
        ->capture_default_str();
    command.add_option("--model-cmd", flags.model_cmd,
                       "an external upscaler instead: 'PROGRAM {in} {out}' (needs --scale)");
    command.add_option("-s,--scale", flags.scale,
                       "output/input size (default: the model's scale, 4 when it has several)");
    command
        .add_option("--model-range", flags.model_range,
                    "value range a model given by path expects: 1 or 255")
        ->capture_default_str();
    command.add_option("--alpha-channel", flags.alpha, "alpha channel: model or bicubic")
        ->capture_default_str();
  }
  command
      .add_option("--model-timeout", flags.model_timeout, "seconds one run of --model-cmd may take")
      ->capture_default_str();
  command.add_option("--tile", flags.tile,
                     "tile side in input pixels (default: from --max-memory)");
  command.add_option("--tile-pad", flags.tile_pad,
                     "context around each tile (default: the model's receptive radius, exact)");
  command.add_option("--tile-overlap", flags.tile_overlap, "blended overlap between tiles")
      ->capture_default_str();
  command.add_option("--max-memory", flags.max_memory,
                     "memory for one forward pass, e.g. 2G (default: 1/4 of free RAM, at most 4G)");
}

Upscaler make_upscaler(const UpscalerFlags& flags, const torch::Device& device, bool quiet) {
  Upscaler out;
  if (!flags.model_cmd.empty()) {
    if (!(flags.scale > 0)) throw usage_error("--model-cmd needs --scale (the program's scale)");
    ExternalProgramOptions options;
    options.timeout_seconds = flags.model_timeout;
    options.keep_going = [] { return !interrupted(); };
    auto program = std::make_shared<ExternalUpscaler>(flags.model_cmd, flags.scale, options);
    out.name = flags.model_cmd;
    out.scale = flags.scale;
    out.identity = conformal::command_identity(flags.model_cmd);
    out.run = [program](const torch::Tensor& lr) { return (*program)(lr); };
    return out;
  }
  const auto offered = offered_scales(flags.model);
  out.scale = flags.scale > 0 ? flags.scale : preferred_scale(offered);
  if (out.scale <= 0 || out.scale > 32) throw usage_error("--scale must be in (0, 32]");
  const int64_t native = choose_native_scale(offered, out.scale);
  out.model = load_model({flags.model, native, flags.model_range});
  out.model->prepare(device, /*channels_last=*/device.is_cpu());
  out.name = out.model->card().name;
  out.identity = conformal::model_identity(out.model->card());
  if (static_cast<double>(native) != out.scale && !quiet) {
    print_error(
        fmt::format("note: {} has no x{} weights; running x{} and resizing its output to "
                    "x{} with MATLAB-compatible bicubic",
                    out.name, out.scale, native, out.scale));
  }
  out.options.scale = out.scale;
  out.options.tiling.tile = flags.tile;
  out.options.tiling.pad = flags.tile_pad;
  out.options.tiling.overlap = flags.tile_overlap;
  if (!flags.max_memory.empty()) out.options.tiling.max_memory = parse_bytes(flags.max_memory);
  if (flags.alpha != "model" && flags.alpha != "bicubic") {
    throw usage_error("--alpha-channel " + flags.alpha + ": use model or bicubic");
  }
  out.options.alpha = flags.alpha == "model" ? AlphaMethod::kModel : AlphaMethod::kBicubic;
  Model* model = out.model.get();
  const auto options = out.options;
  out.run = [model, options, device](const torch::Tensor& lr) {
    return upscale(*model, lr.to(device), options);
  };
  return out;
}

}  // namespace srkit::cli
