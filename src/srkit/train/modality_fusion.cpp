#include "srkit/train/modality_fusion.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <torch/torch.h>

namespace srkit {

double scheduled_temperature(const TemperatureSchedule& schedule, int64_t step, int64_t steps) {
  if (schedule.kind == "fixed") return schedule.value;
  const double t =
      steps > 0 ? std::clamp(static_cast<double>(step) / static_cast<double>(steps), 0.0, 1.0)
                : 1.0;
  return schedule.min + 0.5 * (schedule.max - schedule.min) * (1 + std::cos(M_PI * t));
}

std::vector<double> modality_temperatures(const TemperatureSchedule& schedule, int64_t step,
                                          int64_t steps, const std::vector<double>& contributions) {
  const double shared = scheduled_temperature(schedule, step, steps);
  std::vector<double> out(contributions.size(), shared);
  if (schedule.kind != "adaptive" || contributions.empty()) return out;
  const double mean = std::accumulate(contributions.begin(), contributions.end(), 0.0) /
                      static_cast<double>(contributions.size());
  if (!(mean > 0)) return out;
  for (size_t k = 0; k < out.size(); ++k) {
    const double ratio = mean / std::max(contributions[k], 1e-3 * mean);
    out[k] = shared * std::clamp(std::pow(ratio, schedule.alpha), 0.25, 4.0);
  }
  return out;
}

std::vector<double> alignment_target(const std::vector<double>& contributions, double temperature) {
  const auto k = contributions.size();
  std::vector<double> clipped(k);
  std::transform(contributions.begin(), contributions.end(), clipped.begin(),
                 [](double c) { return std::max(c, 0.0); });
  const double sum = std::accumulate(clipped.begin(), clipped.end(), 0.0);
  if (!(sum > 0)) return std::vector<double>(k, 1.0 / static_cast<double>(k));
  std::vector<double> logits(k);
  for (size_t m = 0; m < k; ++m) logits[m] = clipped[m] / sum / temperature;
  const double top = *std::max_element(logits.begin(), logits.end());
  double total = 0;
  for (auto& l : logits) total += (l = std::exp(l - top));
  for (auto& l : logits) l /= total;
  return logits;
}

torch::Tensor alignment_loss(const torch::Tensor& weights, const std::vector<double>& target) {
  const auto means = weights.mean({0, 2, 3});
  const auto goal =
      torch::tensor(target, weights.options().dtype(torch::kDouble)).to(weights.scalar_type());
  return (means - goal).pow(2).sum();
}

}  // namespace srkit
