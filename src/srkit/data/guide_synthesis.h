// The synthesised guides of guided training. The packages hold no real pan for the ETM+ scene and
// no second contrast for the Colin27 T1 volume (docs/guided.md), so training makes them: a fixed
// synthesis, or (data.randomize_synthetic_guides) a new one drawn for every patch from a family
// of plausible ones, so that the network cannot learn one synthesis as if it were the sensor's.
//
//   const auto pd = srkit::synthesize_proton_density(t1_volume);      // the fixed synthesis
//   const srkit::GuideRandomizer random(srkit::GuidedTask::kMri, training_t1_slices);
//   const auto guide = random.draw(t1_patch, rng);                   // one member of the family
#pragma once

#include <array>
#include <random>
#include <vector>

#include <torch/types.h>

#include "srkit/core/guided_task.h"

namespace srkit {

// A proton-density-like contrast as a piecewise-linear map of T1 intensity in [0,1]: through
// (0, 0), each tissue class's (T1, relative proton density) for CSF < grey < white matter, and
// (1, density_at_brightest) beyond white matter (fat and scalp, brighter than white matter in
// T1). The defaults are the densities BrainWeb simulates, flat beyond white matter.
struct ProtonDensityMap {
  std::array<double, 3> tissue_t1{};                 // CSF, grey, white matter
  std::array<double, 3> density{1.0, 0.86, 0.77};    // CSF, grey, white matter
  double density_at_brightest = 0.77;
};

// The tissue classes' T1 intensities: 3-means of the voxels above 10 % of the range (seeded).
ProtonDensityMap fit_proton_density_map(const torch::Tensor& t1);
torch::Tensor apply_proton_density_map(const ProtonDensityMap& map, const torch::Tensor& t1);

// fit + apply with BrainWeb's densities: the fixed synthesis the training scenes carry.
torch::Tensor synthesize_proton_density(const torch::Tensor& t1_volume);

// Draws a synthetic guide for a training target patch (the guide is made from the target itself):
//   pan  a random convex combination of the bands (Dirichlet(1) weights over blue, green, red,
//        NIR: Landsat 8's pan leaves blue and NIR out, ETM+'s spans green to NIR), divided by the
//        same combination of the bands' training maxima so it stays in [0,1];
//   mri  the proton-density map with the densities drawn around BrainWeb's (CSF 0.85-1.0, grey
//        0.70-0.95, white 0.60-0.85, the brightest T1 0.5-1.0), plus Gaussian noise of a random
//        level up to 0.02 inside the head.
// The ranges were set from the tissues' and sensors' published values before any test scene was
// looked at; they are not tuned.
class GuideRandomizer {
 public:
  // `targets`: the task's training targets ([4, H, W] bands in [0,1] for pan, [1, H, W] T1 for
  // MR). Throws a usage Error for a task whose training guides are real (depth).
  GuideRandomizer(GuidedTask task, const std::vector<torch::Tensor>& targets);
  torch::Tensor draw(const torch::Tensor& target_patch, std::mt19937_64& rng) const;

 private:
  GuidedTask task_;
  std::vector<double> band_peaks_;  // pan: each band's maximum over the training targets
  ProtonDensityMap map_;            // mri: the training volume's tissue intensities
};

}  // namespace srkit
