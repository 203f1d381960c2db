// Supervised training ("SFT") of the rectified-flow upscaler (models/flow_model.h), a step of the
// one training loop: a batch of LR/HR patches (the configured degradation: Real-ESRGAN's for
// real photos), a noise level per patch s = sigmoid(n), n ~ N(logit_mean, logit_std) (the
// authors' logit-normal), x_s = (1 - s) x + s e, and the configured loss terms between the
// network's velocity and v* = e - x: `mse`, or `sobolev` (the H^s norm of the residual, issue
// 4's loss in its FFT half-plane or full-plane form). An exponential moving average of the
// weights is what validation samples and the export holds.
//
// Fine-tuning starts from a trained flow model (init: its .srkit file, whose settings it keeps):
// all weights, or (a `lora` section) only a new LoRA adapter, exported merged into the model and
// apart (train/flow_tuning.h). `data.imitate: MODEL` trains toward MODEL's output on each LR patch
// instead of the HR patch: AS-DPO's adversary, which learns what a baseline upscaler paints.
// A `structure` section trains seed 002's conditioned teacher instead: the network with a
// structure adapter (nn/structure_adapter.h) that sees the colour map and edges (or the dense
// image) of each target patch, dropped for a random share of the samples; it is exported as a
// conditioned teacher (train/structure_teacher.h) and validated with the photos' own structure.
//
//   model: {architecture: flow_unet, scale: 4, channels: 32, residual: true, steps: 28}
//   flow: {logit_mean: 0, logit_std: 1}
//   loss: [{type: sobolev, s: 1.5, transform: fft}]
#pragma once

#include <memory>

#include <ATen/core/Generator.h>

#include "srkit/data/datasets.h"
#include "srkit/models/flow_model.h"
#include "srkit/nn/lora.h"
#include "srkit/nn/structure_adapter.h"
#include "srkit/train/ema.h"
#include "srkit/train/flow_tuning.h"
#include "srkit/train/train_config.h"
#include "srkit/train/training_loop.h"
#include "srkit/train/validation.h"

namespace srkit {

// Whether a config trains a flow model (model.architecture: flow_unet).
bool is_flow_config(const TrainConfig& config);

// The network and settings a flow config's model section describes; usage Errors name the file
// and the key.
FlowUNetOptions flow_network_options(const TrainConfig& config);
FlowModelSettings flow_settings(const TrainConfig& config);

// Validation of a flow network (its samples at config.val_steps steps, seed 0, the model's solver)
// on the leading rank: the log record. The network's train/eval mode is kept.
nlohmann::json validate_flow_network(ValidationSet& validation, FlowUNet& network,
                                     const FlowModelSettings& settings, const TrainConfig& config);

// The generator of training step `step`: the same noise on a resumed run.
at::Generator step_generator(uint64_t seed, int64_t step);

class FlowStep : public TrainingStep {
 public:
  FlowStep(const TrainConfig& config, ProcessGroup& group);

  std::vector<std::pair<std::string, torch::nn::Module*>> modules() override;
  std::vector<StepUpdate> updates() override;
  StepLosses losses(size_t update, int64_t step) override;
  void after_updates() override;
  nlohmann::json log_record(const torch::Tensor& values) const override;
  int64_t patches_per_step() const override { return config_.batch; }
  nlohmann::json state(int world_size) const override;
  void restore(const nlohmann::json& state, int world_size) override;
  void export_model(const std::filesystem::path& path, int64_t steps) override;
  nlohmann::json validate() override;

 private:
  FlowUNet& exported();
  // What the optimiser trains: the network, or the network with its structure adapter.
  torch::nn::Module& trained();
  nlohmann::json validate_conditioned();
  // The patch the flow is trained toward: the HR patch, or the imitated model's output.
  torch::Tensor target(const Batch& batch);

  const TrainConfig& config_;
  TrainingBatches batches_;  // first: a batch that does not split is refused before any work
  InitialFlowModel base_;    // of a fine-tuning run (config.init)
  FlowModelSettings settings_;
  FlowUNet network_{nullptr}, average_network_{nullptr};
  // A structure-conditioned teacher's: network_ (average_network_) with the adapter.
  ConditionedFlowUNet conditioned_{nullptr}, average_conditioned_{nullptr};
  Lora adapter_{nullptr};  // a LoRA run's: the only weights trained
  std::unique_ptr<LoraStack> stack_;
  std::unique_ptr<Model> imitated_;  // data.imitate
  std::unique_ptr<ExponentialMovingAverage> average_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<ValidationSet> validation_;  // on rank 0, when configured
  int rank_ = 0, world_ = 1;
  double mean_level_ = 0;  // of the last step's noise levels, over all ranks
};

}  // namespace srkit
