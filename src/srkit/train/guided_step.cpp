#include "srkit/train/guided_step.h"

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/io/numpy_file.h"
#include "srkit/models/guided_model.h"
#include "srkit/nn/layers.h"
#include "srkit/ops/unit_range.h"

namespace srkit {
namespace {

// L1 between the prediction and the target on the target's known pixels, both in the units the
// network works in (the low-resolution target's [0,1] range).
torch::Tensor known_l1(const torch::Tensor& prediction, const torch::Tensor& target) {
  const auto known = torch::isfinite(target);
  const auto difference = torch::where(known, prediction - target, torch::zeros_like(prediction));
  return difference.abs().sum() / known.sum().clamp_min(1);
}

}  // namespace

GuidedStep::GuidedStep(const GuidedTrainConfig& config) : config_(config) {
  std::filesystem::create_directories(config.output);
  torch::manual_seed(config.seed);
  torch::Tensor text;
  if (!config.network.text_embedding_file.empty()) {
    text = read_npy(config.network.text_embedding_file);
  }
  network_ = MagNet(config.network, text);
  network_->train();
  set_channels_last(*network_, true);
  optimizer_ = make_optimizer(config, network_->parameters());
  sampler_ = std::make_unique<GuidedPatchSampler>(config.tasks, GuidedSplit::kTrain, config.patches,
                                                  config.data_root);
}

std::vector<std::pair<std::string, torch::nn::Module*>> GuidedStep::modules() {
  return {{"network", network_.get()}};
}

std::vector<StepUpdate> GuidedStep::updates() {
  return {{optimizer_.get(), network_->parameters()}};
}

StepLosses GuidedStep::losses(size_t, int64_t step) {
  const auto batch = sampler_->batch(step, config_.seed);
  batch_task_ = batch.task;
  batch_scale_ = batch.scale;
  const auto target = scale_to_unit(batch.target_lr);
  const auto guide = scale_to_unit(batch.guide);
  const auto out = network_->forward(batch.task, target.values, guide.values);
  const auto l1 = known_l1(out.image, (batch.target - target.low) / target.span);
  const auto total = l1 + config_.balance_weight * out.balance_loss;
  return {total, torch::stack({l1.detach(), out.balance_loss.detach()}).to(torch::kDouble)};
}

nlohmann::json GuidedStep::log_record(const torch::Tensor& values) const {
  return {{"task", guided_task_info(batch_task_).name},
          {"scale", batch_scale_},
          {"l1", values[0].item<double>()},
          {"balance", values[1].item<double>()}};
}

void GuidedStep::restore(const nlohmann::json&, int world_size) {
  if (world_size != 1) throw usage_error("guided (MAG-Net) training runs on one process");
  set_channels_last(*network_, true);
}

void GuidedStep::export_model(const std::filesystem::path& path, int64_t steps) {
  nlohmann::json task_names = nlohmann::json::array();
  for (auto task : config_.tasks) task_names.push_back(guided_task_info(task).name);
  save_guided_model(path, *network_,
                    {{"name", config_.name},
                     {"trained_by", "srkit train"},
                     {"config", config_.source.filename().string()},
                     {"tasks", task_names},
                     {"steps", steps}});
}

TrainResult train_guided(const GuidedTrainConfig& config, const TrainOptions& options) {
  GuidedStep step(config);
  ProcessGroup single(DistributedEnvironment{});
  return run_training(step, config, options, single);
}

}  // namespace srkit
