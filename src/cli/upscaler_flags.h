// The flags that choose an upscaler, shared by upscale, calibrate and conformal-eval: a model of
// srkit (--model, tiles, memory) or any external program (--model-cmd).
#pragma once

#include <string>

#include <torch/types.h>
#include <CLI/CLI.hpp>

#include "srkit/engine/upscaler.h"

namespace srkit::cli {

struct UpscalerFlags {
  std::string model = "default";
  std::string model_cmd;
  double model_timeout = 600;
  double scale = 0;
  int64_t tile = 0;
  int64_t tile_pad = -1;
  int64_t tile_overlap = -1;  // -1: none when the tiles are exact, else 8
  std::string max_memory;
  std::string alpha = "bicubic";
  double model_range = 1.0;
  std::string precision = "fp32";
  int64_t seed = -1;  // -1: not given (generative models sample seed 0)
  int64_t steps = 0;
  std::string sampler;
};

// With `choose_model` false only the flags that tune a run (tiles, memory, timeout) are added: the
// model comes from elsewhere (a calibration file).
void add_upscaler_flags(CLI::App& command, UpscalerFlags& flags, bool choose_model = true);

// --seed, --steps and --sampler: which sample of a generative model (srkit upscale). Without
// `seed` only --steps and --sampler (calibrate and conformal-eval have a --seed of their own, and
// score the samples of seeds 0, 1, ...).
void add_sampling_flags(CLI::App& command, UpscalerFlags& flags, bool seed = true);

// The engine's upscaler for the flags (the model loaded, or the command checked); says on stderr
// (unless quiet) when the scale is reached by resizing the model's output.
Upscaler make_upscaler(const UpscalerFlags& flags, const torch::Device& device, bool quiet);

}  // namespace srkit::cli
