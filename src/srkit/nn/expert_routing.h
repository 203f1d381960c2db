// MAG-Net's multi-guidance routing module (MGRM, methods.md section 4): a gate computed per pixel
// from the trunk features, the guide features and the semantic prompt picks the top-k of M expert
// feed-forward networks (noisy top-k gating, Shazeer et al. 2017), and the load-balancing loss
// CV^2(importance) + CV^2(load) keeps the experts evenly used.
//
//   srkit::ExpertRouter router(RouterOptions{.channels = 32});
//   auto routed = router->forward(features, guide_features, prompt);   // routed.output, .balance_loss
#pragma once

#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace srkit {

struct RouterOptions {
  int64_t channels = 32;          // C of this encoder level
  int64_t prompt_dim = 128;       // the semantic prompt's dimension (0: no prompt input)
  int64_t experts = 4;            // M
  int64_t top_k = 2;              // k
  double expansion = 2.66;        // expert hidden width = int(C * expansion)
  bool log_space_combine = false; // the authors' code: log(sum g_i exp(E_i)); paper: sum g_i E_i
};

struct Routed {
  torch::Tensor output;        // features + the gated experts' sum, [N,C,H,W]
  torch::Tensor balance_loss;  // scalar: CV^2(importance) + CV^2(load)
  torch::Tensor gates;         // [N*H*W, M] gate values (zero outside each pixel's top k)
};

// CV^2 of a vector: unbiased variance / (mean^2 + 1e-10) (0 for a single element).
torch::Tensor squared_coefficient_of_variation(const torch::Tensor& v);

class ExpertRouterImpl : public torch::nn::Module {
 public:
  explicit ExpertRouterImpl(const RouterOptions& options);
  // features, guide: [N,C,H,W]; prompt: [N, prompt_dim] (undefined when prompt_dim is 0).
  // In training mode the gate logits get their learned noise and the load is Shazeer's smooth
  // estimate; in eval mode gates are deterministic and the load counts the chosen pixels.
  Routed forward(const torch::Tensor& features, const torch::Tensor& guide,
                 const torch::Tensor& prompt);

  const RouterOptions& options() const { return options_; }

 private:
  RouterOptions options_;
  torch::nn::Linear prompt_projection_{nullptr};
  torch::nn::Conv2d mix_{nullptr}, with_prompt_{nullptr}, gate_features_{nullptr};
  torch::Tensor w_gate_, w_noise_;  // [2C, M]
  torch::nn::ModuleList experts_;   // M x (Linear C->hidden, GELU, Linear hidden->C)
};
TORCH_MODULE(ExpertRouter);

// The probability that expert i stays in the top k when its noise is redrawn (Shazeer's
// _prob_in_top_k): Phi((clean_i - threshold_i) / noise_std_i), the threshold being the k-th
// largest noisy logit of the others. clean, noisy, noise_std: [T, M]; exposed for tests.
torch::Tensor probability_in_top_k(const torch::Tensor& clean, const torch::Tensor& noisy,
                                   const torch::Tensor& noise_std, int64_t k);

}  // namespace srkit
