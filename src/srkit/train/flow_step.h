// Supervised training ("SFT") of the rectified-flow upscaler (models/flow_model.h), a step of the
// one training loop: a batch of LR/HR patches (the configured degradation: Real-ESRGAN's for
// real photos), a noise level per patch s = sigmoid(n), n ~ N(logit_mean, logit_std) (the
// authors' logit-normal), x_s = (1 - s) x + s e, and the configured loss terms between the
// network's velocity and v* = e - x: `mse`, or `sobolev` (the H^s norm of the residual, issue
// 4's loss in its FFT half-plane or full-plane form). An exponential moving average of the
// weights is what validation samples and the export holds.
//
//   model: {architecture: flow_unet, scale: 4, channels: 32, residual: true, steps: 28}
//   flow: {logit_mean: 0, logit_std: 1}
//   loss: [{type: sobolev, s: 1.5, transform: fft}]
#pragma once

#include <memory>

#include "srkit/data/datasets.h"
#include "srkit/models/flow_model.h"
#include "srkit/train/ema.h"
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

  const TrainConfig& config_;
  TrainingBatches batches_;  // first: a batch that does not split is refused before any work
  FlowModelSettings settings_;
  FlowUNet network_{nullptr}, average_network_{nullptr};
  std::unique_ptr<ExponentialMovingAverage> average_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<ValidationSet> validation_;  // on rank 0, when configured
  int rank_ = 0, world_ = 1;
  double mean_level_ = 0;  // of the last step's noise levels, over all ranks
};

}  // namespace srkit
