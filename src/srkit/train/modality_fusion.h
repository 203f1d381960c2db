// What trains M3ESR's fusion (seed 000, docs/multimodal.md) besides the reconstruction loss: the
// temperature schedule of the modality softmax, the modalities' measured contributions, and the
// alignment of each modality's mean weight with its contribution. The seed fixes none of the
// constants; each is a key of the config's `multimodal` section.
//
//   tau(t) = tau_min + (tau_max - tau_min) (1 + cos(pi t / T)) / 2          (schedule "cosine")
//   tau_m  = tau(t) * clamp((mean_k c_k / c_m)^alpha, 1/4, 4)              (schedule "adaptive")
//   c~     = softmax(c / sum_k c_k / tau_c)
//   L_align = sum_m (mean_p w_m(p) - c~_m)^2
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

namespace srkit {

struct TemperatureSchedule {
  std::string kind = "cosine";  // cosine, adaptive (cosine times each modality's factor), fixed
  double max = 2.0, min = 0.5;  // cosine: from max at step 0 to min at the last step
  double value = 1.0;           // fixed
  double alpha = 0.5;           // adaptive: the exponent of mean contribution / contribution
};

// The shared temperature after `step` of `steps`.
double scheduled_temperature(const TemperatureSchedule& schedule, int64_t step, int64_t steps);

// Each modality's temperature: the scheduled one, times the adaptive factor (schedule adaptive,
// once contributions have been measured: not all zero).
std::vector<double> modality_temperatures(const TemperatureSchedule& schedule, int64_t step,
                                          int64_t steps, const std::vector<double>& contributions);

// The weights the contributions call for: softmax of the contributions relative to their sum,
// over `temperature` (uniform while none is positive). Raw contributions are loss differences of
// order 1e-4, whose softmax would be uniform whatever they are: the relative form is this
// project's choice.
std::vector<double> alignment_target(const std::vector<double>& contributions, double temperature);

// weights [N,K,h,w] -> sum_k (mean of w_k - target_k)^2 (a scalar with gradient).
torch::Tensor alignment_loss(const torch::Tensor& weights, const std::vector<double>& target);

}  // namespace srkit
