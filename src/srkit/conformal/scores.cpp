#include "srkit/conformal/scores.h"

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/ops/color.h"
#include "srkit/ops/filters.h"

namespace srkit::conformal {

torch::Tensor colour_planes(const torch::Tensor& image, ColourSpace space) {
  TORCH_CHECK(image.dim() == 3, "expected a [C,H,W] image");
  const auto rgb = as_rgb(image).to(torch::kFloat);
  return space == ColourSpace::kUnitLab ? rgb_to_unit_lab(rgb) : rgb.contiguous();
}

PatchVariance::PatchVariance(const ScoreOptions& options) : options_(options) {
  if (options.kernel < 1 || options.kernel % 2 == 0) {
    throw usage_error("{{ScoreOptions::kernel}} must be an odd number >= 1");
  }
  if (options.clip_quantile <= 0 || options.clip_quantile > 1) {
    throw usage_error("{{ScoreOptions::clip}} must be in (0, 1]");
  }
  if (options.blur_sigma < 0) throw usage_error("{{ScoreOptions::blur_sigma}} must be >= 0");
}

void PatchVariance::add(const torch::Tensor& sample) {
  const auto planes = colour_planes(sample, options_.space).to(torch::kFloat64);
  auto mean = box_mean(planes, options_.kernel);
  auto square = box_mean(planes.square(), options_.kernel).sum(0);  // only the sum is needed
  if (samples_ == 0) {
    sum_mean_ = mean;
    sum_square_ = square;
  } else {
    TORCH_CHECK(mean.sizes() == sum_mean_.sizes(), "samples differ in size");
    sum_mean_ += mean;
    sum_square_ += square;
  }
  ++samples_;
}

torch::Tensor PatchVariance::raw() const {
  TORCH_CHECK(samples_ > 0, "no samples were added");
  const double m = static_cast<double>(samples_);
  const auto channels = static_cast<double>(sum_mean_.size(0));
  const auto variance = (sum_square_ / m - (sum_mean_ / m).square().sum(0)) / channels;
  return variance.clamp_min(0).to(torch::kFloat);  // rounding can dip below 0
}

torch::Tensor PatchVariance::score() const {
  auto score = raw();
  if (options_.clip_quantile < 1) {
    score = score.clamp_max(quantile_value(score, options_.clip_quantile));
  }
  return gaussian_blur(score, options_.blur_sigma).contiguous();
}

ColourSpace parse_colour_space(const std::string& name) {
  if (name == "lab") return ColourSpace::kUnitLab;
  if (name == "rgb") return ColourSpace::kRgb;
  throw usage_error("colour space " + name + ": use lab or rgb");
}

std::string to_string(ColourSpace space) { return space == ColourSpace::kUnitLab ? "lab" : "rgb"; }

}  // namespace srkit::conformal
