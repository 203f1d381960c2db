// MAG-Net (seed 004; methods.md section 4): one network for depth SR, pansharpening and MR SR.
// The low-resolution target is upsampled (bilinear, or MATLAB bicubic as an option) to the guide's
// grid; per-task 3x3 embeddings
// of target and guide are fused by the image-fusion module (IFM); a prompt generator turns the
// task's text feature and the inputs into a semantic prompt; a Restormer U-Net whose three
// encoder levels each start with a routed mixture of experts (ExpertRouter) conditioned on the
// guide features and the prompt; a per-task 1x1 head plus the upsampled target.
//
//   srkit::MagNet net(srkit::MagNetConfig{});          // the small CPU configuration
//   auto out = net->forward(srkit::GuidedTask::kDepth, depth_lr, rgb);  // .image, .balance_loss
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/pimpl.h>
#include <nlohmann/json.hpp>

#include "srkit/core/guided_task.h"
#include "srkit/nn/expert_routing.h"
#include "srkit/nn/restormer.h"
#include "srkit/nn/task_prompt.h"

namespace srkit {

struct MagNetConfig {
  int64_t dim = 16;                         // C (the paper: 42)
  std::vector<int64_t> blocks{1, 1, 1, 1};  // per level (the paper: 3, 4, 4, 5)
  int64_t refinement = 1;                   // blocks after the decoder (the paper: 4)
  std::vector<int64_t> heads{1, 2, 4, 8};
  double expansion = 2.66;
  int64_t experts = 4;
  int64_t top_k = 2;
  int64_t prompt_count = 16;
  int64_t prompt_dim = 128;
  int64_t text_dim = 512;
  bool routing = true;  // false: a plain feed-forward (one expert, no gate) at each level
  bool prompts = true;  // false: no prompt generator, the routers see no prompt
  bool log_space_combine = false;
  // How the target reaches the guide's grid, for the embeddings and as the residual base:
  // "bilinear" (the paper) or "bicubic" (MATLAB's, the classical baseline the model must beat).
  std::string upsampling = "bilinear";
  std::string text_embedding_file;  // .npy [3, text_dim] the caller read into text_features

  nlohmann::json to_json() const;
  // Strict: an unknown key or a bad value is a usage Error naming the key.
  static MagNetConfig from_json(const nlohmann::json& json);
  static MagNetConfig paper();  // the thesis's size (for a GPU)
  // An upper estimate of the parameters, counted without building the network: from_json refuses
  // a config beyond 2^29 of them (a model file's config is read before its weights).
  double parameter_bound() const;
};

struct MagNetOutput {
  torch::Tensor image;               // [N, C1, H, W]
  torch::Tensor balance_loss;        // sum over the routed levels (0 without routing)
  std::vector<torch::Tensor> gates;  // per routed level: [N*H_l*W_l, M]
};

// Fuses the target and guide embeddings (methods.md: q = conv(x), k = conv(prior),
// a = sigmoid(q k); x' = x g1[0] + (x a) g1[1] with g1 = conv([x, x a]) giving 2 maps; the same
// for the prior; out = conv([x', prior'])).
class ImageFusionImpl : public torch::nn::Module {
 public:
  explicit ImageFusionImpl(int64_t channels);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& prior);

 private:
  torch::nn::Conv2d query_{nullptr}, key_{nullptr}, gate_x_{nullptr}, gate_prior_{nullptr},
      out_{nullptr};
};
TORCH_MODULE(ImageFusion);

class MagNetImpl : public torch::nn::Module {
 public:
  // `text_features` [3, text_dim] (one row per task, e.g. CLIP text embeddings) replace the
  // hashed n-gram features; they are kept in the weights (buffer "fixed_text").
  explicit MagNetImpl(const MagNetConfig& config, const torch::Tensor& text_features = {});
  // target_lr [N,C1,h,w] and guide [N,C2,H,W] of one task, values in [0,1]; H and W any size
  // (padded internally to a multiple of 8).
  MagNetOutput forward(GuidedTask task, const torch::Tensor& target_lr, const torch::Tensor& guide);

  const MagNetConfig& config() const { return config_; }
  int64_t parameter_count() const;
  // The text feature of a task: the hashed (or user-supplied) features + the learned embedding.
  torch::Tensor text_feature(GuidedTask task) const;

 private:
  MagNetConfig config_;
  torch::Tensor fixed_text_;  // [3, text_dim] buffer
  torch::nn::Embedding task_embedding_{nullptr};
  torch::nn::ModuleList target_embed_, guide_embed_, heads_;
  ImageFusion fusion_{nullptr};
  PromptGenerator prompt_{nullptr};
  std::vector<ExpertRouter> routers_;
  std::vector<torch::nn::Sequential> encoders_, decoders_;
  std::vector<Downsample> down_, guide_down_;
  std::vector<Upsample> up_;
  std::vector<torch::nn::Conv2d> reduce_;
  torch::nn::Sequential latent_{nullptr}, refinement_{nullptr};
};
TORCH_MODULE(MagNet);

}  // namespace srkit
