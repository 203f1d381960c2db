// Choosing what upscales: a model of srkit's (a registered name, a model.json or a .srkit file),
// or any external program given as a command line. The same Upscaler serves plain upscaling,
// confidence masks and calibration, which see only its `run` function.
//
//   srkit::UpscalerChoice choice;                 // the default model at its scale
//   choice.model = "esrgan-medium";
//   choice.scale = 3;                             // no x3 weights: x4, then bicubic down
//   auto upscaler = srkit::open_upscaler(choice, torch::kCPU);
//   torch::Tensor hr = upscaler.run(lr);
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include "srkit/core/progress.h"
#include "srkit/engine/upscale.h"
#include "srkit/models/model.h"

namespace srkit {

struct FlowUpscaleReport;  // engine/flow_upscale.h

struct UpscalerChoice {
  std::string model = "default";  // a registered name, a model.json (or its folder), a .srkit file
  double model_range = 1.0;       // for a model.json given by path: the range its weights expect
  std::string command;            // an external program instead: 'PROGRAM {in} {out}'
  double command_timeout = 600;   // seconds one run of the program may take
  ProgressFn command_progress;    // polled while the program runs; false stops it (cancel)
  // Output size / input size; 0 = the model's scale (4 when it has several). Required for a
  // command. A scale the model does not offer is reached by resizing its nearest native output.
  double scale = 0;
  UpscaleOptions options;  // tiles, memory, alpha (its scale is set from `scale`)
  // bfloat16 arithmetic where the device runs it fast (fast_bfloat16) and the model offers it;
  // otherwise float32, with the reason in Upscaler::note.
  bool bfloat16 = false;
  // For a generative model (card().task "generative"): which sample (seed), how many velocities
  // (steps, 0 = the model's) and the solver ("" = the model's). A usage Error for other models.
  std::optional<uint64_t> seed;
  int64_t steps = 0;
  std::string solver;
};

// A generative model's sample of `seed` with progress over its velocities' windows (false
// cancels), and how it was tiled and how much memory it took when `report` is not null. The same
// seed gives the same image; a seed is one draw of the noise.
using SamplingFn = std::function<torch::Tensor(
    const torch::Tensor& lr, uint64_t seed, const ProgressFn& progress, FlowUpscaleReport* report)>;

struct Upscaler {
  std::string name;                // the model's name or the command
  double scale = 0;                // output size / input size
  int64_t native_scale = 0;        // the model's own scale (0 for a command)
  nlohmann::json identity;         // what a calibration file records (model_identity)
  std::unique_ptr<Model> model;    // null for an external program
  UpscaleOptions options;          // for the model
  UpscaleFn run;                   // [C,H,W] in [0,1] -> [C, H*scale, W*scale] on the CPU
  SamplingFn sample;               // a generative model's run of any seed, else null
  uint64_t seed = 0;               // the seed `run` samples (UpscalerChoice::seed)
  std::string precision = "fp32";  // what the model computes in: fp32 or bf16
  std::string note;                // why a requested bf16 runs as fp32, if it does
  nlohmann::json sampling;         // a generative model's {"seed", "steps", "solver"}, else null

  // Whether the model samples (a generative model: `run` gives the sample of the chosen seed; it
  // is neither tiled by `options` nor streamed, engine/flow_upscale.h tiles each velocity).
  bool generative() const { return model && model->card().task == "generative"; }
  // Whether the model takes modality maps besides the image (M3ESR): `run` computes the maps it
  // can from the image; engine/multimodal_upscale.h takes a user's maps too.
  bool multimodal() const { return model && model->card().task == "multimodal"; }
  // Whether the scale is reached by resizing the model's output.
  bool resized() const { return model && static_cast<double>(native_scale) != scale; }
  // Input pixels of context an output pixel depends on: the model's receptive radius, and the
  // taps of the bicubic resize when there is one.
  int64_t context() const;
};

// Loads the model once (checksums verified) and prepares it on `device`. Usage Errors name the
// option at fault (an unknown model, a scale out of (0, 32], a command without a scale).
Upscaler open_upscaler(const UpscalerChoice& choice, const torch::Device& device);

}  // namespace srkit
