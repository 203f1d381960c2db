#include "srkit/nn/task_prompt.h"

#include <cctype>

#include <torch/torch.h>

namespace srkit {
namespace {

constexpr int64_t kConditionChannels = 32;

uint64_t fnv1a(const std::string& text) {
  uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : text) hash = (hash ^ c) * 1099511628211ULL;
  return hash;
}

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride));
}

torch::nn::LeakyReLU leaky() {
  return torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.1));
}

}  // namespace

torch::Tensor hashed_text_features(const std::string& text, int64_t dim) {
  std::string normalised = " ";
  for (unsigned char c : text) normalised += static_cast<char>(std::tolower(c));
  normalised += " ";
  auto features = torch::zeros({dim}, torch::kFloat);
  auto f = features.accessor<float, 1>();
  for (size_t n = 3; n <= 5; ++n) {
    for (size_t i = 0; i + n <= normalised.size(); ++i) {
      const uint64_t hash = fnv1a(normalised.substr(i, n));
      f[static_cast<int64_t>(hash % static_cast<uint64_t>(dim))] += (hash >> 63) ? 1.0f : -1.0f;
    }
  }
  const double norm = features.norm().item<double>();
  return norm > 0 ? features / norm : features;
}

PromptGeneratorImpl::PromptGeneratorImpl(const PromptOptions& options) {
  const int64_t c = kConditionChannels;
  for (size_t t = 0; t < options.target_channels.size(); ++t) {
    target_entry_->push_back(conv(options.target_channels[t], c, 3, 3));
    guide_entry_->push_back(conv(options.guide_channels[t], c, 3, 3));
  }
  register_module("target_entry", target_entry_);
  register_module("guide_entry", guide_entry_);
  const auto body = [&] {
    return torch::nn::Sequential(leaky(), conv(c, c, 3, 3), leaky(), conv(c, c, 1), leaky(),
                                 conv(c, c, 1), leaky(), conv(c, c, 1));
  };
  target_body_ = register_module("target_body", body());
  guide_body_ = register_module("guide_body", body());
  const auto refine = [&] { return torch::nn::Sequential(conv(2 * c, c, 1), leaky(), conv(c, c, 1)); };
  refine_target_ = register_module("refine_target", refine());
  refine_guide_ = register_module("refine_guide", refine());
  merge_ = register_module("merge", torch::nn::Sequential(conv(2 * c, 2 * c, 1)));
  film_scale_ = register_module("film_scale", torch::nn::Linear(options.text_dim, 2 * c));
  film_shift_ = register_module("film_shift", torch::nn::Linear(options.text_dim, 2 * c));
  weights_ = register_module("weights", torch::nn::Linear(2 * c, options.prompt_count));
  dictionary_ = register_parameter("dictionary",
                                   torch::rand({options.prompt_count, options.prompt_dim}));
}

torch::Tensor PromptGeneratorImpl::forward(int64_t task, const torch::Tensor& target_up,
                                           const torch::Tensor& guide, const torch::Tensor& text) {
  const auto t = target_body_->forward(
      target_entry_[task]->as<torch::nn::Conv2d>()->forward(target_up));
  const auto g = guide_body_->forward(guide_entry_[task]->as<torch::nn::Conv2d>()->forward(guide));
  const auto both = torch::cat({t, g}, 1);
  auto f = merge_->forward(
      torch::cat({refine_target_->forward(both), refine_guide_->forward(both)}, 1));
  const int64_t n = f.size(0), c = f.size(1);
  f = f * (1 + film_scale_(text).view({n, c, 1, 1})) + film_shift_(text).view({n, c, 1, 1});
  const auto w = torch::softmax(weights_(f.mean(at::IntArrayRef{2, 3})), 1);
  return torch::gelu(torch::matmul(w, dictionary_));
}

}  // namespace srkit
