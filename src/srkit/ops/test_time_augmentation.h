// Test-time augmentation: the same low-resolution image seen through transforms (the 8 flips and
// rotations, optional sub-pixel shifts and input noise), each output mapped back onto the
// untransformed grid. Works for any upscaler, including an external program, because only its
// input and output are touched. The spread of the outputs is srkit's uncertainty signal
// (conformal/scores.h).
//
//   srkit::EnsembleOptions options;  // 8 samples: the dihedral group
//   for (const auto& a : srkit::ensemble_augmentations(options)) {
//     auto hr = srkit::restore(a, upscaler(srkit::augment(a, lr)), scale);
//   }
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace srkit {

struct Augmentation {
  int dihedral = 0;                 // 0..3: rotation by 90 degrees that many times; +4: then flip
  double shift_y = 0, shift_x = 0;  // sub-pixel translation of the input, in input pixels
  double noise = 0;                 // standard deviation of Gaussian noise added to the input
  uint64_t seed = 0;                // of that noise
};

struct EnsembleOptions {
  int samples = 8;    // M; the first is always the plain input
  double shift = 0;   // samples after the first are shifted by up to this many input pixels
  double noise = 0;   // samples after the first get Gaussian noise of this standard deviation
  uint64_t seed = 0;  // for the shifts and the noise; the same for every image
  // A generative upscaler's samples: sample k is drawn with its own seed (the delivered seed + k),
  // so samples differ even for the same input and more than 8 need no shift or noise.
  bool seeded = false;
  // The flips and rotations; without them (seeded only) every sample sees the plain input.
  bool transforms = true;
};

// M augmentations: the identity, then the other flips/rotations, then (M > 8, which needs shift,
// noise or seeded samples) the group again; all identities without `transforms`. Shifts and noise
// are drawn from `seed` and apply to all but the first. Throws a usage Error for M < 1, or for
// samples that would repeat (M > 8, or M > 1 without transforms, and neither shift, noise nor
// seeded samples).
std::vector<Augmentation> ensemble_augmentations(const EnsembleOptions& options);

// The transformed input [C,H,W] (sides swap for odd rotations).
torch::Tensor augment(const Augmentation& augmentation, const torch::Tensor& lr);

// The output of an augmented input moved back onto the output grid of the plain input.
torch::Tensor restore(const Augmentation& augmentation, const torch::Tensor& hr, double scale);

}  // namespace srkit
