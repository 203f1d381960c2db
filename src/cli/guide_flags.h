// What `srkit guide` reads from its command line, and the upscaler it chooses (a trained MAG-Net
// or a classical method), shared by its two modes: users' files (cmd_guide.cpp) and the
// benchmark over data/guided (guide_benchmark.cpp).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "common.h"
#include "srkit/core/guided_task.h"
#include "srkit/engine/guided_benchmark.h"
#include "srkit/engine/guided_upscale.h"
#include "srkit/ops/classical_guided.h"

namespace srkit::cli {

struct GuideArgs {
  std::string task;
  std::string target, guide, output;
  std::string method = "guided-filter";
  std::string model;  // a trained MAG-Net (.srkit); replaces --method
  std::string slice;
  bool overwrite = false;
  bool benchmark = false;
  std::vector<int64_t> scales;
  std::string split = "test";
  std::string mri_downsampling = "kspace";
  std::string csv;
  std::string usage_plot;
  GuidedTiling tiling;     // --model: tiles over large inputs
  std::string max_memory;  // "2G"; empty = the default budget
  ClassicalSettings settings;
  CommonFlags common;
};

struct ChosenUpscaler {
  GuidedUpscaler run;
  std::string name;
  // A model's expert choices, per routed level ([M] pixel counts), summed over its runs; null for
  // classical methods.
  std::shared_ptr<std::vector<torch::Tensor>> expert_counts;
};

// `progress` follows a model's tiles (classical methods run in one call).
ChosenUpscaler choose_upscaler(const GuideArgs& args, GuidedTask task,
                               const ProgressFn& progress = {});

// --benchmark: every scale of the task(s) over the split, per-scene and per-dataset metrics,
// expert usage for a model.
int run_guide_benchmark(const GuideArgs& args);

}  // namespace srkit::cli
