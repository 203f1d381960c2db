// Preference alignment of a trained flow model (seed 001's S-DPO and AS-DPO), a step of the one
// training loop. The policy is the init model (the SFT model; adapters already merged into it
// stay frozen) plus a trainable, zero-initialised LoRA adapter; the reference is the same stack
// with that adapter disabled (the dual-LoRA reference), so at step 0 policy == reference and the
// loss is log 2. Each step draws LR/HR patches as SFT does and scores, on the same noised batch,
// policy and reference velocities for
//   the winner w (the HR patch) and the data-loser l (the LR patch upsampled: the blur the flow
//   should move away from), each noised with its own noise and level (the authors' code) or with
//   shared ones (classic Diffusion-DPO; preference.noise);
//   AS-DPO's adversarial loser a: the adversary (init + an adapter trained to imitate a baseline
//   upscaler, train/flow_step.h's data.imitate) estimates the clean image from the winner's
//   noised sample, pulled toward the winner by the trust region lambda, noised with the winner's
//   noise and level.
// Per-sample energies L = ||v - v*||^2 in H^s (S-DPO) or the squared error (Euclidean DPO), and
// loss = DPO(w, l) + DPO(w, a) (train/preference_loss.h). The log holds each pair's loss,
// implicit reward margin and accuracy. The export is the model with the adapter merged and the
// adapter apart (train/flow_tuning.h).
//
//   init: runs/flow_x4_mse/flow_x4_mse.srkit
//   lora: {rank: 8, alpha: 8, targets: ['.*\.conv[12]', '.*\.film']}
//   preference: {beta: 4000, energy: {type: sobolev, s: 1.5, transform: fft-half,
//                frequency_scale: 0.125}, adversary: runs/adv/adv.lora.srkit, trust_region: 0.1}
#pragma once

#include <memory>

#include "srkit/models/flow_model.h"
#include "srkit/nn/lora.h"
#include "srkit/train/flow_tuning.h"
#include "srkit/train/train_config.h"
#include "srkit/train/training_loop.h"
#include "srkit/train/validation.h"

namespace srkit {

class PreferenceStep : public TrainingStep {
 public:
  PreferenceStep(const TrainConfig& config, ProcessGroup& group);

  std::vector<std::pair<std::string, torch::nn::Module*>> modules() override;
  std::vector<StepUpdate> updates() override;
  StepLosses losses(size_t update, int64_t step) override;
  nlohmann::json log_record(const torch::Tensor& values) const override;
  int64_t patches_per_step() const override { return config_.batch; }
  nlohmann::json state(int world_size) const override;
  void restore(const nlohmann::json& state, int world_size) override;
  void export_model(const std::filesystem::path& path, int64_t steps) override;
  nlohmann::json validate() override;

 private:
  // Per-sample energies of velocity residuals: [N,C,H,W] -> [N].
  torch::Tensor energy(const torch::Tensor& residual) const;

  const TrainConfig& config_;
  TrainingBatches batches_;
  InitialFlowModel base_;
  FlowUNet network_{nullptr};    // base_'s, frozen; the policy and the reference
  FlowUNet adversary_{nullptr};  // AS-DPO: base + the adversary's adapter, merged; frozen
  Lora adapter_{nullptr};        // the trained DPO adapter
  std::unique_ptr<LoraStack> stack_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<ValidationSet> validation_;
  int rank_ = 0, world_ = 1;
  double mean_level_ = 0;
};

}  // namespace srkit
