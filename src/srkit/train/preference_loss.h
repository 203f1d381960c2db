// Preference alignment of a flow model (seed 001): Diffusion-DPO over per-sample energies, and the
// adversarial loser of AS-DPO. With L the energy of a velocity's residual on one noised sample
// (the H^s norm for S-DPO, the squared error for the Euclidean ablation), for the policy θ and the
// reference, on a winner w and a loser l:
//   inside = -1/2 beta_raw [(L_θ(w) - L_θ(l)) - (L_ref(w) - L_ref(l))],  loss = -log
//   sigmoid(inside)
// averaged over the batch (the authors' code: beta_raw 4000, an effective beta of 2000). inside > 0
// when the policy prefers the winner more than the reference does: its batch mean is the implicit
// reward margin, the fraction of samples with inside > 0 (ties counting half) the accuracy.
//
//   auto dpo = srkit::dpo_loss({policy_w, policy_l, reference_w, reference_l}, 4000);
//   dpo.loss.backward();   // dpo.margin, dpo.accuracy for the log
#pragma once

#include <torch/types.h>

namespace srkit {

struct PreferenceEnergies {
  torch::Tensor policy_winner, policy_loser;        // [N], with the graph to the policy
  torch::Tensor reference_winner, reference_loser;  // [N], constants
};

struct PreferenceLoss {
  torch::Tensor loss;     // scalar
  double margin = 0;      // batch mean of inside
  double accuracy = 0.5;  // fraction of samples with inside > 0, ties half
};

PreferenceLoss dpo_loss(const PreferenceEnergies& energies, double beta_raw);

// AS-DPO's adversarial loser on the winner's noised sample x_s = (1 - s) x_w + s e (s [N] or a
// number broadcast over [N,C,H,W]): the adversary's clean estimate x_s - s v_adv, pulled toward
// the winner into the trust region: x_w + lambda (x_s - s v_adv - x_w) (the authors' lambda 0.1).
// lambda 0 gives the winner itself.
torch::Tensor adversarial_loser(const torch::Tensor& winner, const torch::Tensor& noised,
                                const torch::Tensor& s, const torch::Tensor& adversary_velocity,
                                double lambda);

}  // namespace srkit
