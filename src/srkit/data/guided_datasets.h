// The guided-SR data of data/guided/ (scripts/setup.sh) as scenes with fixed splits, one loader
// per task (docs/guided.md states what is real and what is synthesised):
//   depth  ViSP Castle-simu frames 1-28 train, 33-40 test (29-32 left out: neighbouring frames
//          of one camera path are nearly the same image); the Middlebury motorcycle, test only.
//   pan    the ETM+ scene's rows 0-239 train and rows 256-351 test, its pan synthesised from
//          the bands; the Landsat 8 and Landsat 7 scenes with their real pan, test only.
//   mri    Colin27 T1 axial slices with a synthesised proton-density guide, split by a seeded
//          shuffle into train (90 %) and validation; the real BrainWeb T1/PD pair, test only.
//
//   auto scenes = srkit::load_guided_scenes(srkit::GuidedTask::kDepth, srkit::GuidedSplit::kTest);
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "srkit/core/guided_task.h"
#include "srkit/data/guide_synthesis.h"
#include "srkit/data/guided_protocol.h"

namespace srkit {

enum class GuidedSplit { kTrain, kValidation, kTest };

struct GuidedScene {
  GuidedTask task = GuidedTask::kDepth;
  std::string name;      // e.g. "castle/0033", "landsat8", "brainweb"
  torch::Tensor target;  // high-resolution target [C, H, W] (depth: NaN = unknown)
  torch::Tensor guide;   // guide on the same grid [G, H, W], in [0,1]
  std::string units;     // what the target's values are
  bool synthetic_guide = false;
};

// The scenes of one task and split, read from `root` (default: data_root() / "guided").
// Throws a setup Error naming the missing file and scripts/setup.sh when the data is absent.
std::vector<GuidedScene> load_guided_scenes(GuidedTask task, GuidedSplit split,
                                            const std::filesystem::path& root = {});

GuidedSplit parse_guided_split(const std::string& name);

// Training batches of guided tasks: aligned random patches of each task's training scenes (the
// low-resolution target cut from the protocol's low-resolution image of the whole scene, so
// patches see the same degradation as the benchmark), flipped/rotated together.
struct GuidedBatch {
  GuidedTask task = GuidedTask::kDepth;
  int64_t scale = 4;
  torch::Tensor target_lr;  // [N, C1, patch/scale, patch/scale], finite
  torch::Tensor guide;      // [N, C2, patch, patch] in [0,1]
  torch::Tensor target;     // [N, C1, patch, patch], NaN where unknown
};

struct GuidedPatchOptions {
  int64_t patch = 64;  // high-resolution side, a multiple of every scale
  int64_t batch = 4;
  std::vector<std::vector<int64_t>> scales;  // per task in `tasks` order; empty = the protocol's
  MriDownsampling mri = MriDownsampling::kKspace;
  double min_known = 0.5;  // depth patches need this fraction of known pixels (redrawn otherwise)
  // Tasks whose training guides are synthesised (pan, MR) draw a new synthesis for every patch
  // (GuideRandomizer, data/guide_synthesis.h) instead of the scenes' fixed one.
  bool randomize_synthetic_guides = false;
};

class GuidedPatchSampler {
 public:
  GuidedPatchSampler(const std::vector<GuidedTask>& tasks, GuidedSplit split,
                     const GuidedPatchOptions& options, const std::filesystem::path& root = {});
  // Batch number `step` of a run seeded by `seed`: a pure function of both, so a resumed run
  // continues the same sequence. All-in-one: every consecutive block of T steps (T tasks) takes
  // each task once, in a seeded order, so every task gets the same number of batches (MAG-Net
  // matches epoch lengths to the smallest dataset for the same purpose). Within a batch: one
  // task, one scale drawn from its list, random scenes and positions.
  GuidedBatch batch(int64_t step, uint64_t seed) const;
  const std::vector<GuidedTask>& tasks() const { return tasks_; }

 private:
  struct Prepared {
    torch::Tensor target, guide;           // cropped to a multiple of the largest scale
    std::vector<torch::Tensor> lr;         // per scale of the task
  };
  std::vector<GuidedTask> tasks_;
  std::vector<std::vector<int64_t>> scales_;
  std::vector<std::vector<Prepared>> scenes_;  // per task
  std::vector<std::optional<GuideRandomizer>> randomizers_;  // per task; set when randomising
  GuidedPatchOptions options_;
};

}  // namespace srkit
