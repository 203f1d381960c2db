// Uncertainty scores sigma(X): per-pixel maps on the output grid, higher = less trustworthy, from M
// outputs of a model for the same input (test-time augmentation, or a generative model's samples).
// Any score keeps the conformal guarantee; a better one only makes the trusted mask larger.
//
// The low-pass patch variance of the paper (seed 003, eq. for sigma^K):
//   sigma^K_p = E_M[(mu^2 * K)_p] - (E_M[(mu * K)_p])^2
// with K a box of side `kernel` (1 = the per-pixel variance across samples), averaged over the
// colour channels. It equals the mean within-patch variance of the samples plus the across-sample
// variance of their local means; the authors' code keeps only the first term (docs/conformal.md).
//
//   srkit::conformal::PatchVariance variance(options);
//   for (auto& sample : samples) variance.add(sample);      // [C,H,W] in [0,1], streamed
//   torch::Tensor score = variance.score();                  // [H,W], clipped and smoothed
#pragma once

#include <cstdint>
#include <string>

#include <torch/types.h>

namespace srkit::conformal {

enum class ColourSpace { kUnitLab, kRgb };

struct ScoreOptions {
  ColourSpace space = ColourSpace::kUnitLab;  // where the variance is measured
  int64_t kernel = 5;  // box side of K, odd; 1 = per-pixel variance (docs/conformal.md: choice)
  double clip_quantile = 1.0;  // each map is clipped at this quantile of its own values; 1 = off
  double blur_sigma = 0;       // Gaussian smoothing after clipping, in output pixels; 0 = off
};

// Streams samples into the moments sigma^K needs, so M samples cost four float64 maps (three
// channel means, one summed second moment: 32 bytes per output pixel) whatever M is.
class PatchVariance {
 public:
  explicit PatchVariance(const ScoreOptions& options);

  // One sample [C,H,W] in [0,1]: gray is taken as R=G=B, an alpha channel is ignored.
  void add(const torch::Tensor& sample);
  int64_t samples() const { return samples_; }

  // sigma^K as defined above, [H,W] float, >= 0, before clipping and smoothing.
  torch::Tensor raw() const;
  // The score: raw() clipped at its quantile and smoothed, as the options say.
  torch::Tensor score() const;

 private:
  ScoreOptions options_;
  int64_t samples_ = 0;
  torch::Tensor sum_mean_;    // [3,H,W]: sum over samples of K*mu, float64
  torch::Tensor sum_square_;  // [H,W]: sum over samples and channels of K*mu^2, float64
};

// The channels the variance is measured on: [3,H,W] in the colour space.
torch::Tensor colour_planes(const torch::Tensor& image, ColourSpace space);

// "lab" / "rgb" <-> ColourSpace; throws a usage Error for other names.
ColourSpace parse_colour_space(const std::string& name);
std::string to_string(ColourSpace space);

}  // namespace srkit::conformal
