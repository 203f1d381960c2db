#include "srkit/nn/expert_routing.h"

#include <cmath>

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/nn/restormer.h"

namespace srkit {

torch::Tensor squared_coefficient_of_variation(const torch::Tensor& v) {
  if (v.numel() < 2) return torch::zeros({}, v.options());
  return v.var(/*unbiased=*/true) / (v.mean().pow(2) + 1e-10);
}

torch::Tensor probability_in_top_k(const torch::Tensor& clean, const torch::Tensor& noisy,
                                   const torch::Tensor& noise_std, int64_t k) {
  const auto top = std::get<0>(noisy.topk(k + 1, 1));  // [T, k+1], descending
  // In the top k, an expert must stay above the (k+1)-th value; outside it must beat the k-th.
  const auto threshold_if_in = top.slice(1, k, k + 1);
  const auto threshold_if_out = top.slice(1, k - 1, k);
  const auto is_in = noisy > threshold_if_in;
  const auto normal_cdf = [](const torch::Tensor& z) {
    return 0.5 * (1 + torch::erf(z / std::sqrt(2.0)));
  };
  return torch::where(is_in, normal_cdf((clean - threshold_if_in) / noise_std),
                      normal_cdf((clean - threshold_if_out) / noise_std));
}

ExpertRouterImpl::ExpertRouterImpl(const RouterOptions& options) : options_(options) {
  const int64_t c = options.channels, m = options.experts;
  if (m < 1 || options.top_k < 1 || options.top_k > m) {
    throw usage_error("the router needs 1 <= top_k <= experts");
  }
  if (options.prompt_dim > 0) {
    prompt_projection_ =
        register_module("prompt_projection", torch::nn::Linear(options.prompt_dim, c));
  }
  mix_ = register_module("mix", same_conv(2 * c, 2 * c, 1));
  with_prompt_ = register_module("with_prompt",
                                 same_conv(options.prompt_dim > 0 ? 3 * c : 2 * c, 2 * c, 1));
  gate_features_ = register_module("gate_features", same_conv(2 * c, 2 * c, 1));
  w_gate_ = register_parameter("w_gate", torch::randn({2 * c, m}) * (1.0 / std::sqrt(2.0 * c)));
  w_noise_ = register_parameter("w_noise", torch::zeros({2 * c, m}));
  const auto hidden = static_cast<int64_t>(static_cast<double>(c) * options.expansion);
  for (int64_t i = 0; i < m; ++i) {
    torch::nn::Sequential expert(torch::nn::Linear(c, hidden), torch::nn::GELU(),
                                 torch::nn::Linear(hidden, c));
    experts_->push_back(expert);
  }
  register_module("experts", experts_);
}

Routed ExpertRouterImpl::forward(const torch::Tensor& features, const torch::Tensor& guide,
                                 const torch::Tensor& prompt) {
  const int64_t n = features.size(0), c = features.size(1), h = features.size(2),
                w = features.size(3), m = options_.experts, k = options_.top_k;
  // The gate's input: trunk and guide features mixed, then with the prompt broadcast per pixel.
  const auto x1 = mix_(torch::cat({features, guide}, 1));
  auto x2_input = x1;
  if (options_.prompt_dim > 0) {
    const auto d = prompt_projection_(prompt).view({n, c, 1, 1}).expand({n, c, h, w});
    x2_input = torch::cat({x1, d}, 1);
  }
  const auto x2 = with_prompt_(x2_input);
  const auto gate_input = gate_features_(torch::gelu(x2) * x1);
  const auto tokens = gate_input.permute({0, 2, 3, 1}).reshape({n * h * w, 2 * c});

  const auto clean = torch::matmul(tokens, w_gate_);
  torch::Tensor logits = clean, noise_std;
  const bool noisy = is_training() && k < m;
  if (noisy) {
    noise_std = (torch::softplus(torch::matmul(tokens, w_noise_)) + 1e-2).clamp(1e-7, 1.0);
    logits = clean + torch::randn_like(clean) * noise_std;
  }
  const auto [top_values, top_indices] = logits.topk(std::min(k + 1, m), 1);
  const auto top_gates = torch::softmax(top_values.slice(1, 0, k), 1);
  const auto gates =
      torch::zeros_like(logits).scatter(1, top_indices.slice(1, 0, k), top_gates);
  const auto importance = gates.sum(0);
  const auto load = noisy ? probability_in_top_k(clean, logits, noise_std, k).sum(0)
                          : (gates > 0).to(gates.scalar_type()).sum(0);
  const auto balance = squared_coefficient_of_variation(importance) +
                       squared_coefficient_of_variation(load);

  // Each expert runs on the pixels that chose it (the sparse dispatch), on the trunk features.
  const auto pixels = features.permute({0, 2, 3, 1}).reshape({n * h * w, c});
  auto combined = torch::zeros_like(pixels);
  for (int64_t i = 0; i < m; ++i) {
    const auto chosen = gates.select(1, i).nonzero().squeeze(1);
    if (chosen.numel() == 0) continue;
    const auto gate = gates.select(1, i).index_select(0, chosen).unsqueeze(1);
    auto expert_out = experts_[i]->as<torch::nn::Sequential>()->forward(pixels.index_select(0, chosen));
    if (options_.log_space_combine) expert_out = torch::exp(expert_out);
    combined = combined.index_add(0, chosen, gate * expert_out);
  }
  if (options_.log_space_combine) {
    // The authors' combine: zeros become eps before the log.
    combined = torch::log(torch::where(combined == 0, torch::full_like(combined, 2.2e-16), combined));
  }
  const auto routed = combined.view({n, h, w, c}).permute({0, 3, 1, 2});
  return {features + routed, balance, gates};
}

}  // namespace srkit
