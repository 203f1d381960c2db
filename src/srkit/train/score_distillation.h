// Variational score distillation (VSD) in the rectified-flow convention, as OSEDiff codes it for
// seed 002's one-step generator: the generator's output x_hat is noised to x_s = (1 - s) x_hat +
// s e, a frozen teacher ("real score") and a network trained on the generator's outputs ("fake
// score") each give a velocity, turned into clean estimates x0 = x_s - s v; the generator is
// pushed along
//
//   grad = (x0_fake - x0_real) / mean_{C,H,W} |x_hat - x0_real|      (per sample)
//   L_vsd = MSE(x_hat, stopgrad(x_hat - grad))    (so dL/dx_hat = 2 grad / numel)
//
// toward where the teacher puts the mass and away from where the generator already is.
//
//   auto grad = srkit::vsd_gradient(x_hat, x0_real, x0_fake);
//   auto loss = srkit::vsd_loss(x_hat, grad);
#pragma once

#include <torch/types.h>

namespace srkit {

// The clean estimate of a flow velocity: x0 = x_s - s v, with s [N] the levels.
torch::Tensor flow_clean_estimate(const torch::Tensor& x_s, const torch::Tensor& velocity,
                                  const torch::Tensor& s);

// Classifier-free guidance of a velocity: v_u + w (v_c - v_u) (w = 1: the conditioned one).
torch::Tensor guided_velocity(const torch::Tensor& conditioned, const torch::Tensor& unconditioned,
                              double guidance);

// OSEDiff's normalised VSD gradient, [N,C,H,W], without a graph. The per-sample normaliser is
// floored at 1e-8 (a generator that already equals the teacher's estimate).
torch::Tensor vsd_gradient(const torch::Tensor& x_hat, const torch::Tensor& x0_real,
                           const torch::Tensor& x0_fake);

// MSE(x_hat, stopgrad(x_hat - grad)): its value is mean(grad^2), its gradient 2 grad / numel.
torch::Tensor vsd_loss(const torch::Tensor& x_hat, const torch::Tensor& grad);

}  // namespace srkit
