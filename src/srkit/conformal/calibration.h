// Conformal risk control for confidence masks (seed 003; docs/conformal.md): the threshold t_alpha
// such that, for a new image exchangeable with the n calibration images, the worst fidelity error
// inside the trusted set {p : score_p < t_alpha} is at most alpha in expectation.
//
//   std::vector<srkit::conformal::Staircase> images;
//   for (...) images.push_back(srkit::conformal::image_staircase(score_map, fidelity_map));
//   auto curve = srkit::conformal::risk_curve(images);
//   float t = srkit::conformal::threshold_for(curve, 0.1);   // trusted: score < t
//
// Per image the loss L_i(t) = max{D_p : score_p <= t} (0 for no pixel) is a staircase in t; the
// sum S(t) = sum_i L_i(t) over the calibration images is another one. t_alpha is the first score
// at which (S(t) + B) / (n + 1) exceeds alpha (B = 3, the largest error). That supremum is not
// attained, which is why the trusted set is "score < t_alpha" with a strict inequality: with "<="
// a whole level of tied scores would join the mask and the guarantee can fail (conformal.md 4.1).
//
// Fidelity errors are rounded up to multiples of 2^-32 and summed as integers, so sums are exact
// and the fast calibration equals its brute-force twin bit for bit; rounding up is conservative.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include <torch/types.h>

namespace srkit::conformal {

// The largest fidelity error (D_p in [0, B]); the guarantee needs it.
constexpr double kFidelityBound = 3.0;

using Ticks = uint64_t;  // a fidelity error in units of 2^-32
constexpr double kTicksPerUnit = 4294967296.0;
Ticks to_ticks(double error);  // rounds up
double from_ticks(Ticks ticks);

constexpr float kEmptyMask = -std::numeric_limits<float>::infinity();  // trusts no pixel
constexpr float kFullMask = std::numeric_limits<float>::infinity();    // trusts every pixel

// From `score` upward (pixels with score <= t for t >= score) the worst error of the image is
// `loss`. A staircase lists these steps by increasing score with strictly increasing loss.
struct Step {
  float score;
  Ticks loss;
};

struct Staircase {
  std::vector<Step> steps;
  int64_t pixels = 0;
};

// One image's staircase from its score map and fidelity map (same number of elements, float32).
// O(d) passes plus a sort of the pixels that can set a record, which are few unless the score
// orders the errors perfectly. Throws a c10::Error for NaN scores or errors outside [0, B].
Staircase image_staircase(const torch::Tensor& score, const torch::Tensor& fidelity);
Staircase image_staircase(const float* score, const float* fidelity, int64_t pixels);

// L_i for the strict trusted set: the worst error over pixels with score < threshold.
Ticks loss_below(const Staircase& image, float threshold);

// S(t) over a calibration set: after all steps at scores[k] are taken, the sum of the images'
// losses is sums[k]. Scores strictly increase; sums strictly increase.
struct RiskCurve {
  int64_t images = 0;
  std::vector<float> scores;
  std::vector<Ticks> sums;
};

// Merges the images' staircases in one sweep: O(E log E) for E steps in all.
RiskCurve risk_curve(const std::vector<Staircase>& images);

// t_alpha: trusted pixels are those with score < t_alpha. kEmptyMask when alpha < B/(n+1),
// kFullMask when the risk never exceeds alpha (always for alpha >= B).
float threshold_for(const RiskCurve& curve, double alpha);

// The largest sum of losses that still meets alpha: floor((alpha (n+1) - B) * 2^32), or -1 when
// even an empty mask does not.
int64_t loss_budget(int64_t images, double alpha);

// The slow, obvious twin (Omega(n^2 d^2)): for every score value, the sum of the images' losses by
// scanning every pixel of every image. scores[i] and errors[i] are image i's pixels.
float brute_force_threshold(const std::vector<std::vector<float>>& scores,
                            const std::vector<std::vector<float>>& errors, double alpha);

}  // namespace srkit::conformal
