// MAG-Net's multi-modal prompt generator (MPGM, methods.md section 4) and the task text features
// it is conditioned on. No CLIP weights exist here, so a task's text feature is built
// deterministically from its description: hashed character n-grams (n = 3, 4, 5, FNV-1a into
// `dim` signed buckets, L2-normalised), to which the network adds a learned per-task embedding. A
// user-supplied embedding (e.g. CLIP's 512-d text features, one row per task) replaces the hashed
// features through the same path (MagNetConfig::text_embedding_file).
//
//   torch::Tensor text = srkit::hashed_text_features("Pansharpening of ...", 512);   // [512]
#pragma once

#include <cstdint>
#include <string>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace srkit {

torch::Tensor hashed_text_features(const std::string& text, int64_t dim);

struct PromptOptions {
  std::vector<int64_t> target_channels;  // per task: the (upsampled) target's channels
  std::vector<int64_t> guide_channels;   // per task: the guide's channels
  int64_t text_dim = 512;
  int64_t prompt_count = 16;  // K, the learnable dictionary's entries
  int64_t prompt_dim = 128;   // the semantic prompt's dimension
};

// Condition networks on the upsampled target and the guide (per-task first layer), cross-refined,
// FiLM-modulated by the text feature ((1 + gamma) F + beta), pooled, softmax weights over the
// dictionary D [K, prompt_dim]: P_sem = GELU(w D).
class PromptGeneratorImpl : public torch::nn::Module {
 public:
  explicit PromptGeneratorImpl(const PromptOptions& options);
  // target_up [N,C1,H,W], guide [N,C2,H,W], text [N, text_dim] -> [N, prompt_dim].
  torch::Tensor forward(int64_t task, const torch::Tensor& target_up, const torch::Tensor& guide,
                        const torch::Tensor& text);

 private:
  torch::nn::ModuleList target_entry_, guide_entry_;  // per task: Conv(k3, s3) to 32
  torch::nn::Sequential target_body_{nullptr}, guide_body_{nullptr};
  torch::nn::Sequential refine_target_{nullptr}, refine_guide_{nullptr}, merge_{nullptr};
  torch::nn::Linear film_scale_{nullptr}, film_shift_{nullptr}, weights_{nullptr};
  torch::Tensor dictionary_;  // [K, prompt_dim]
};
TORCH_MODULE(PromptGenerator);

}  // namespace srkit
