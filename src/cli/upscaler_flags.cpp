#include "upscaler_flags.h"

#include <fmt/format.h>

#include "common.h"
#include "flag_checks.h"

namespace srkit::cli {
void add_upscaler_flags(CLI::App& command, UpscalerFlags& flags, bool choose_model) {
  if (choose_model) {
    command.add_option("-m,--model", flags.model, "model name (see `srkit models`) or model.json")
        ->capture_default_str();
    command.add_option("--model-cmd", flags.model_cmd,
                       "an external upscaler instead: 'PROGRAM {in} {out}' (needs --scale)");
    command
        .add_option("-s,--scale", flags.scale,
                    "output/input size (default: the model's scale, 4 when it has several)")
        ->check(positive());
    command
        .add_option("--model-range", flags.model_range,
                    "value range a model given by path expects: 1 or 255")
        ->capture_default_str();
    command.add_option("--alpha-channel", flags.alpha, "alpha channel: model or bicubic")
        ->capture_default_str();
  }
  command
      .add_option("--model-timeout", flags.model_timeout, "seconds one run of --model-cmd may take")
      ->check(positive())
      ->capture_default_str();
  command
      .add_option("--precision", flags.precision,
                  "fp32, or bf16 (ncnn models; used where the CPU has AVX512-BF16 or AMX, or "
                  "on CUDA)")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  command
      .add_option("--tile", flags.tile,
                  "most input pixels a tile keeps per side, evened out over the image "
                  "(default, or 0: from --max-memory)")
      ->check(at_least(0));
  command
      .add_option("--tile-pad", flags.tile_pad,
                  "context around each tile (default: the model's receptive radius, exact)")
      ->check(at_least(0));
  command
      .add_option("--tile-overlap", flags.tile_overlap,
                  "blended overlap between tiles (default: none when the tiles are exact, else 8)")
      ->check(at_least(0));
  command
      .add_option("--max-memory", flags.max_memory,
                  "memory an image's upscale may use, e.g. 2G: model, image, tiles, output "
                  "rows (default: 1/4 of free RAM, at most 4G)")
      ->check(byte_size());
}

void add_sampling_flags(CLI::App& command, UpscalerFlags& flags, bool seed) {
  if (seed) {
    command
        .add_option("--seed", flags.seed,
                    "generative models: which sample (the same seed gives the same image; "
                    "default 0)")
        ->check(at_least(0));
  }
  command
      .add_option("--steps", flags.steps,
                  "generative models: sampler steps (default: the model's; more is slower and "
                  "usually sharper)")
      ->check(CLI::Range(int64_t{1}, int64_t{1000}));
  command.add_option("--sampler", flags.sampler,
                     "generative models: euler or heun (default: the model's)");
}

Upscaler make_upscaler(const UpscalerFlags& flags, const torch::Device& device, bool quiet) {
  if (!flags.model_cmd.empty() && !(flags.scale > 0)) {
    throw usage_error("--model-cmd needs --scale (the program's scale)");
  }
  if (flags.alpha != "model" && flags.alpha != "bicubic") {
    throw usage_error("--alpha-channel " + flags.alpha + ": use model or bicubic");
  }
  UpscalerChoice choice;
  choice.model = flags.model;
  choice.model_range = flags.model_range;
  choice.command = flags.model_cmd;
  choice.command_timeout = flags.model_timeout;
  choice.command_progress = [](int64_t, int64_t) { return !interrupted(); };
  choice.scale = flags.scale;
  choice.options.tiling.tile = flags.tile;
  choice.options.tiling.pad = flags.tile_pad;
  choice.options.tiling.overlap = flags.tile_overlap;
  if (!flags.max_memory.empty()) choice.options.max_memory = parse_bytes(flags.max_memory);
  choice.options.alpha = flags.alpha == "model" ? AlphaMethod::kModel : AlphaMethod::kBicubic;
  choice.bfloat16 = flags.precision == "bf16";
  if (flags.seed >= 0) choice.seed = static_cast<uint64_t>(flags.seed);
  choice.steps = flags.steps;
  choice.solver = flags.sampler;
  auto upscaler = open_upscaler(choice, device);
  CommonFlags notes;  // notes on stderr as the commands say them: not errors, silenced by -q
  notes.quiet = quiet;
  if (!upscaler.note.empty()) say(notes, "note: --precision bf16: " + upscaler.note);
  if (upscaler.resized()) {
    say(notes, fmt::format("note: {} has no x{} weights; running x{} and resizing its output to "
                           "x{} with MATLAB-compatible bicubic",
                           upscaler.name, upscaler.scale, upscaler.native_scale, upscaler.scale));
  }
  return upscaler;
}

}  // namespace srkit::cli
