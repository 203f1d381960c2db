// Local fidelity maps D_p(Y, Yhat) in [0, 3]: how far the prediction is from the truth at each
// output pixel. The conformal guarantee bounds the worst D inside the trusted mask.
//
//   auto d = srkit::conformal::fidelity_map(truth, prediction, {});   // [H,W], pointwise Lab L1
//
// Metrics (seed 003, section 2.3):
//   lab                 |Lab(Y)_p - Lab(Yhat)_p|_1 in unit Lab (each channel in [0,1])
//   lab-neighbourhood   |(Lab(Y) * K)_p - (Lab(Yhat) * K)_p|_1, K a box of side `kernel`
//   rgb                 |Y_p - Yhat_p|_1 in RGB [0,1]; it bounds every channel's error, so the PSNR
//                       inside the mask is >= -20 log10(alpha) in expectation (Proposition 3.1)
// `blur_sigma` optionally smooths the map (the authors' code: Gaussian sigma 64 on the pointwise
// map); smoothing keeps D in [0,3].
#pragma once

#include <cstdint>
#include <string>

#include <torch/types.h>

namespace srkit::conformal {

enum class FidelityMetric { kLabPointwise, kLabNeighbourhood, kRgbPointwise };

struct FidelityOptions {
  FidelityMetric metric = FidelityMetric::kLabPointwise;
  int64_t kernel = 5;     // box side for lab-neighbourhood
  double blur_sigma = 0;  // Gaussian smoothing of the map; 0 = off
};

// truth and prediction are [C,H,W] in [0,1] of equal size (gray as R=G=B, alpha ignored).
// Returns [H,W] float in [0,3].
torch::Tensor fidelity_map(const torch::Tensor& truth, const torch::Tensor& prediction,
                           const FidelityOptions& options);

// Whether the PSNR bound of Proposition 3.1 holds for this metric (pointwise, same space as PSNR).
bool bounds_psnr(const FidelityOptions& options);

// "lab" / "lab-neighbourhood" / "rgb" <-> FidelityMetric; throws a usage Error for other names.
FidelityMetric parse_fidelity_metric(const std::string& name);
std::string to_string(FidelityMetric metric);

}  // namespace srkit::conformal
