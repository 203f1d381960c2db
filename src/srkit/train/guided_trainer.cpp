#include "srkit/train/guided_trainer.h"

#include <chrono>
#include <limits>
#include <memory>

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/io/numpy_file.h"
#include "srkit/models/guided_model.h"
#include "srkit/models/model_file.h"
#include "srkit/nn/layers.h"
#include "srkit/ops/unit_range.h"
#include "srkit/train/checkpoint.h"
#include "srkit/train/run_log.h"
#include "srkit/train/schedule.h"

namespace srkit {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const GuidedTrainConfig& c,
                                                        MagNetImpl& network) {
  if (c.optimizer == "adam") {
    return std::make_unique<torch::optim::Adam>(
        network.parameters(),
        torch::optim::AdamOptions(c.lr).betas({c.beta1, c.beta2}).weight_decay(c.weight_decay));
  }
  return std::make_unique<torch::optim::AdamW>(
      network.parameters(),
      torch::optim::AdamWOptions(c.lr).betas({c.beta1, c.beta2}).weight_decay(c.weight_decay));
}

// L1 between the prediction and the target on the target's known pixels, both in the units the
// network works in (the low-resolution target's [0,1] range).
torch::Tensor known_l1(const torch::Tensor& prediction, const torch::Tensor& target) {
  const auto known = torch::isfinite(target);
  const auto difference = torch::where(known, prediction - target, torch::zeros_like(prediction));
  return difference.abs().sum() / known.sum().clamp_min(1);
}

}  // namespace

GuidedTrainResult train_guided(const GuidedTrainConfig& config, const TrainOptions& options) {
  GuidedTrainResult result;
  result.checkpoint = config.output / "checkpoint.pt";
  result.log = config.output / "log.jsonl";
  result.model_file = config.output / (config.name + kModelFileExtension);
  std::filesystem::create_directories(config.output);

  torch::manual_seed(config.seed);
  torch::Tensor text;
  if (!config.network.text_embedding_file.empty()) text = read_npy(config.network.text_embedding_file);
  MagNet network(config.network, text);
  network->train();
  set_channels_last(*network, true);
  auto optimizer = make_optimizer(config, *network);
  auto parameters = network->parameters();
  const GuidedPatchSampler sampler(config.tasks, GuidedSplit::kTrain, config.patches,
                                   config.data_root);

  TrainingState state;
  state.config_text = config.text;
  if (options.resume) {
    state = load_checkpoint(result.checkpoint, *network, *network, *optimizer);
    if (state.config_text != config.text) {
      throw usage_error(config.source.string() + " differs from the config " +
                        result.checkpoint.string() +
                        " was started with; resume with the same config, or give a new output");
    }
    set_channels_last(*network, true);
    truncate_log(result.log, state.step);
  } else {
    std::filesystem::remove(result.log);
  }
  result.first_step = result.step = state.step;
  JsonLog log(result.log, true);
  const ScheduleOptions schedule{config.lr, config.warmup, config.steps, config.min_lr};
  const double clip =
      config.clip_grad_norm > 0 ? config.clip_grad_norm : std::numeric_limits<double>::infinity();
  nlohmann::json task_names = nlohmann::json::array();
  for (auto task : config.tasks) task_names.push_back(guided_task_info(task).name);

  const auto save = [&] {
    state.step = state.position = result.step;
    save_checkpoint(result.checkpoint, state, *network, *network, *optimizer);
    save_guided_model(result.model_file, *network,
                      {{"name", config.name},
                       {"trained_by", "srkit train"},
                       {"config", config.source.filename().string()},
                       {"tasks", task_names},
                       {"steps", result.step}});
  };

  const auto run_start = Clock::now();
  double step_seconds = 0;
  while (result.step < config.steps) {
    const auto step_start = Clock::now();
    const double lr = warmup_cosine_lr(result.step, schedule);
    set_learning_rate(*optimizer, lr);
    const auto batch = sampler.batch(result.step, config.seed);
    const auto target = scale_to_unit(batch.target_lr);
    const auto guide = scale_to_unit(batch.guide);
    const auto out = network->forward(batch.task, target.values, guide.values);
    const auto l1 = known_l1(out.image, (batch.target - target.low) / target.span);
    const auto loss = l1 + config.balance_weight * out.balance_loss;
    optimizer->zero_grad();
    loss.backward();
    const double grad_norm = torch::nn::utils::clip_grad_norm_(parameters, clip);
    optimizer->step();
    ++result.step;
    if (result.step > result.first_step + 1) step_seconds += seconds_since(step_start);

    const bool last = result.step == config.steps;
    const bool out_of_time =
        config.time_limit_minutes > 0 && seconds_since(run_start) > 60 * config.time_limit_minutes;
    const bool stop_now = (options.stop_after > 0 && result.step - result.first_step >= options.stop_after) ||
                          (options.should_stop && options.should_stop()) || out_of_time;
    const double rate = static_cast<double>(config.patches.batch) /
                        std::max(1e-9, seconds_since(step_start));
    if (result.step % config.log_every == 0 || last || stop_now) {
      log.write({{"step", result.step},
                 {"task", guided_task_info(batch.task).name},
                 {"scale", batch.scale},
                 {"lr", lr},
                 {"loss", loss.item<double>()},
                 {"l1", l1.item<double>()},
                 {"balance", out.balance_loss.item<double>()},
                 {"grad_norm", grad_norm},
                 {"patches_per_s", rate}});
    }
    if (options.status) {
      options.status(format_status(result.step, config.steps, loss.item<double>(), lr, rate));
    }
    if (result.step % config.checkpoint_every == 0 || last || stop_now) save();
    if (stop_now && !last) break;
  }
  result.finished = result.step == config.steps;
  result.seconds = seconds_since(run_start);
  result.patches_per_second =
      static_cast<double>(std::max<int64_t>(0, result.step - result.first_step - 1) *
                          config.patches.batch) /
      std::max(1e-9, step_seconds);
  return result;
}

}  // namespace srkit
