// Training of M3ESR (seed 000, nn/m3esr.h; docs/multimodal.md) and its baselines: batches of LR/HR
// patches (Real-ESRGAN's degradations or any of data.degradation), the modality maps computed from
// each LR patch (ops/modality_maps.h), each map dropped per sample with multimodal.
// modality_dropout (so the model learns to do without one), the configured loss terms plus
// lambda_align L_align and the gate-logit penalty; the softmax temperature scheduled over the run
// and, every contribution_every steps, each modality's contribution measured as the loss increase
// when it is dropped (a moving average: what the alignment target and the adaptive temperatures
// follow). EMA of the weights, exported with the temperatures of the last step. One process.
//
//   auto config = srkit::read_train_config("configs/m3esr_x4.yaml");
//   MultimodalStep step(config, group);    // what srkit::train (train/train.h) runs
#pragma once

#include <memory>
#include <vector>

#include "srkit/nn/m3esr.h"
#include "srkit/train/ema.h"
#include "srkit/train/train_config.h"
#include "srkit/train/training_loop.h"
#include "srkit/train/validation.h"

namespace srkit {

class MultimodalStep : public TrainingStep {
 public:
  // A usage Error when the run has more than one process (not yet data-parallel).
  MultimodalStep(const TrainConfig& config, ProcessGroup& group);

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

  // The modalities' measured contributions (moving averages; zeros until the first measurement).
  const std::vector<double>& contributions() const { return contributions_; }

 private:
  // The maps of an LR batch, one per modality ([N,C,H,W]).
  std::vector<torch::Tensor> maps_of(const torch::Tensor& lr) const;
  // Drop-one loss increases on this batch, folded into the moving average.
  void measure_contributions(const torch::Tensor& lr, const std::vector<torch::Tensor>& maps,
                             const torch::Tensor& hr, const torch::Tensor& temperatures);
  torch::Tensor temperatures(int64_t step) const;

  const TrainConfig& config_;
  TrainingBatches batches_;
  M3esr network_{nullptr};
  M3esr average_network_{nullptr};
  std::unique_ptr<ExponentialMovingAverage> average_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<ValidationSet> validation_;
  std::vector<double> contributions_;
  int64_t measurements_ = 0;
  int64_t last_step_ = 0;  // the step whose temperatures the export and validation use
};

}  // namespace srkit
