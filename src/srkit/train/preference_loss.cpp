#include "srkit/train/preference_loss.h"

#include <torch/torch.h>

#include "srkit/core/error.h"

namespace srkit {

PreferenceLoss dpo_loss(const PreferenceEnergies& e, double beta_raw) {
  const auto n = e.policy_winner.sizes();
  if (e.policy_winner.dim() != 1 || e.policy_loser.sizes() != n ||
      e.reference_winner.sizes() != n || e.reference_loser.sizes() != n) {
    throw usage_error("dpo loss: the four energies must be [N] each, of one batch");
  }
  const auto inside =
      -0.5 * beta_raw *
      ((e.policy_winner - e.policy_loser) - (e.reference_winner - e.reference_loser).detach());
  PreferenceLoss out;
  out.loss = -torch::log_sigmoid(inside).mean();
  const auto value = inside.detach().to(torch::kFloat64);
  out.margin = value.mean().item<double>();
  out.accuracy = ((value > 0).to(torch::kFloat64) + 0.5 * (value == 0).to(torch::kFloat64))
                     .mean()
                     .item<double>();
  return out;
}

torch::Tensor adversarial_loser(const torch::Tensor& winner, const torch::Tensor& noised,
                                const torch::Tensor& s, const torch::Tensor& adversary_velocity,
                                double lambda) {
  const auto level = s.dim() == 1 ? s.view({-1, 1, 1, 1}) : s;
  const auto estimate = noised - level * adversary_velocity;
  return winner + lambda * (estimate - winner);
}

}  // namespace srkit
