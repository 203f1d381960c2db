// Training of single-image networks (RDN, RRDN, the compact CNN): batches of LR/HR patches from a
// dataset, the configured loss terms, AdamW or Adam, an exponential moving average of the weights
// (the exported and validated model), validation on held-out photos; data-parallel over ranks.
// A step of the one training loop (train/training_loop.h).
//
//   auto config = srkit::read_train_config("configs/compact_x4.yaml");
//   srkit::ProcessGroup group(srkit::distributed_environment());
//   RegressionStep step(config, group);              // what srkit::train (train/train.h) runs
//   auto result = srkit::run_training(step, config, {.resume = true}, group);
#pragma once

#include <memory>

#include "srkit/data/datasets.h"
#include "srkit/train/ema.h"
#include "srkit/train/train_config.h"
#include "srkit/train/training_loop.h"
#include "srkit/train/validation.h"

namespace srkit {

class RegressionStep : public TrainingStep {
 public:
  // Builds the network (initial_network), its average, the optimiser and the data; every rank
  // starts from rank 0's weights. A usage Error when data.batch does not split over the ranks.
  RegressionStep(const TrainConfig& config, ProcessGroup& group);

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
  const TrainConfig& config_;
  TrainingBatches batches_;  // first: a batch that does not split is refused before any work
  Network network_;
  Network average_network_;  // the moving average of network_'s weights
  std::unique_ptr<ExponentialMovingAverage> average_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<ValidationSet> validation_;  // on rank 0, when configured
};

// The network a config starts from: `init` (a registered RDN/RRDN with its imported weights, or a
// .srkit file) or a fresh `model:` seeded by data.seed.
Network initial_network(const TrainConfig& config);

}  // namespace srkit
