// Training of guided models (MAG-Net): batches of guided patches (one task per batch, tasks in
// equal shares), loss L1 on the known pixels in the units the network sees plus the weighted
// load-balancing loss of the routers. A step of the one training loop (train/training_loop.h);
// one process (MAG-Net's batches are small, and its sampler is not split over ranks).
//
//   auto config = srkit::read_guided_train_config("configs/magnet_all_in_one.yaml");
//   auto result = srkit::train_guided(config, {.resume = false});   // -> runs/<name>/<name>.srkit
#pragma once

#include <memory>

#include "srkit/data/guided_datasets.h"
#include "srkit/nn/magnet.h"
#include "srkit/train/guided_train_config.h"
#include "srkit/train/training_loop.h"

namespace srkit {

class GuidedStep : public TrainingStep {
 public:
  explicit GuidedStep(const GuidedTrainConfig& config);

  std::vector<std::pair<std::string, torch::nn::Module*>> modules() override;
  std::vector<StepUpdate> updates() override;
  StepLosses losses(size_t update, int64_t step) override;
  nlohmann::json log_record(const torch::Tensor& values) const override;
  int64_t patches_per_step() const override { return config_.patches.batch; }
  nlohmann::json state(int) const override { return nlohmann::json::object(); }
  void restore(const nlohmann::json& state, int world_size) override;
  void export_model(const std::filesystem::path& path, int64_t steps) override;

 private:
  const GuidedTrainConfig& config_;
  MagNet network_{nullptr};
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<GuidedPatchSampler> sampler_;
  GuidedTask batch_task_ = GuidedTask::kDepth;  // of the last batch drawn
  int64_t batch_scale_ = 0;
};

// Trains `config` through the one training loop, on one process.
TrainResult train_guided(const GuidedTrainConfig& config, const TrainOptions& options);

}  // namespace srkit
