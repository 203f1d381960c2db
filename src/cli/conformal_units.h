// What `srkit calibrate` and `srkit conformal-eval` share: the flags that say where the images
// are and how they are cut into units, and the loop over the units that goes on past bad files.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common.h"
#include "srkit/conformal/calibration_data.h"
#include "srkit/conformal/confidence.h"
#include "srkit/engine/upscaler.h"

namespace srkit::cli {

struct UnitFlags {
  std::string data;  // HR folder
  std::string lr;    // optional LR folder
  int64_t crop = 0;
};

void add_unit_flags(CLI::App& command, UnitFlags& flags);

conformal::UnitOptions unit_options(const UnitFlags& flags, double scale);

// "0.05,0.1,0.2" -> sorted positive levels; throws a usage Error for anything else.
std::vector<double> parse_alphas(const std::string& text);

struct UnitLoop {
  int64_t files = 0;
  int64_t units = 0;
  int failed = 0;  // files that could not be used (reported on stderr)
};

// Calls `visit` for each unit of each image in the folder, with a progress label. A file that
// cannot be read or used is reported and skipped; usage, setup and cancellation errors end the
// loop.
UnitLoop for_each_unit(
    const UnitFlags& flags, const conformal::UnitOptions& options, const CommonFlags& common,
    const std::function<void(const conformal::ImageUnit& unit, const std::string& label)>& visit);

// The upscaler's prediction of `lr` and its score: a generative model's sample of `seed` scored by
// the settings' samples (seeded: the spread of its samples of seeds seed, seed + 1, ...), any
// other model or program (which ignore `seed`) by its flips and rotations.
conformal::ScoredPrediction predict_with_score(const Upscaler& upscaler, uint64_t seed,
                                               const torch::Tensor& lr,
                                               const conformal::ConfidenceSettings& settings,
                                               const ProgressFn& progress);

}  // namespace srkit::cli
