#include "srkit/conformal/fidelity.h"

#include <torch/torch.h>

#include "srkit/conformal/calibration.h"
#include "srkit/conformal/scores.h"
#include "srkit/core/error.h"
#include "srkit/ops/filters.h"

namespace srkit::conformal {

torch::Tensor fidelity_map(const torch::Tensor& truth, const torch::Tensor& prediction,
                           const FidelityOptions& options) {
  TORCH_CHECK(truth.dim() == 3 && prediction.dim() == 3 && truth.size(1) == prediction.size(1) &&
                  truth.size(2) == prediction.size(2),
              "fidelity: truth ", truth.sizes(), " and prediction ", prediction.sizes(),
              " differ in size");
  const auto space =
      options.metric == FidelityMetric::kRgbPointwise ? ColourSpace::kRgb : ColourSpace::kUnitLab;
  auto y = colour_planes(truth, space);
  auto y_hat = colour_planes(prediction, space);
  if (options.metric == FidelityMetric::kLabNeighbourhood) {
    y = box_mean(y, options.kernel);
    y_hat = box_mean(y_hat, options.kernel);
  }
  const auto d = (y - y_hat).abs().sum(0);
  return gaussian_blur(d, options.blur_sigma)
      .clamp(0, kFidelityBound)
      .to(torch::kFloat)
      .contiguous();
}

bool bounds_psnr(const FidelityOptions& options) {
  return options.metric == FidelityMetric::kRgbPointwise && options.blur_sigma == 0;
}

FidelityMetric parse_fidelity_metric(const std::string& name) {
  if (name == "lab") return FidelityMetric::kLabPointwise;
  if (name == "lab-neighbourhood") return FidelityMetric::kLabNeighbourhood;
  if (name == "rgb") return FidelityMetric::kRgbPointwise;
  throw usage_error("{{FidelityOptions::metric}} " + name + ": use lab, lab-neighbourhood or rgb");
}

std::string to_string(FidelityMetric metric) {
  switch (metric) {
    case FidelityMetric::kLabPointwise:
      return "lab";
    case FidelityMetric::kLabNeighbourhood:
      return "lab-neighbourhood";
    case FidelityMetric::kRgbPointwise:
      return "rgb";
  }
  return "?";
}

}  // namespace srkit::conformal
