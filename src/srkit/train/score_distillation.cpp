#include "srkit/train/score_distillation.h"

#include <torch/torch.h>

namespace srkit {

torch::Tensor flow_clean_estimate(const torch::Tensor& x_s, const torch::Tensor& velocity,
                                  const torch::Tensor& s) {
  return x_s - s.view({-1, 1, 1, 1}).to(x_s.dtype()) * velocity;
}

torch::Tensor guided_velocity(const torch::Tensor& conditioned, const torch::Tensor& unconditioned,
                              double guidance) {
  if (guidance == 1.0) return conditioned;
  return unconditioned + guidance * (conditioned - unconditioned);
}

torch::Tensor vsd_gradient(const torch::Tensor& x_hat, const torch::Tensor& x0_real,
                           const torch::Tensor& x0_fake) {
  torch::NoGradGuard no_grad;
  const auto weight = (x_hat.detach() - x0_real).abs().mean({1, 2, 3}, true).clamp_min(1e-8);
  return (x0_fake - x0_real) / weight;
}

torch::Tensor vsd_loss(const torch::Tensor& x_hat, const torch::Tensor& grad) {
  const auto target = (x_hat - grad).detach();
  return torch::mse_loss(x_hat, target);
}

}  // namespace srkit
