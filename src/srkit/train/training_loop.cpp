#include "srkit/train/training_loop.h"

#include <chrono>
#include <cmath>
#include <limits>

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/models/model_file.h"
#include "srkit/train/checkpoint.h"
#include "srkit/train/run_log.h"
#include "srkit/train/schedule.h"

namespace srkit {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Optimizers optimizers_of(const std::vector<StepUpdate>& updates) {
  Optimizers optimizers;
  for (const auto& update : updates) optimizers.push_back(update.optimizer);
  return optimizers;
}

// One update: backward, then one all-reduce that carries the gradients, the loss values and the
// stop request (so every rank stops after the same step), then clipping and the optimiser.
struct UpdateResult {
  torch::Tensor values;  // averaged over the ranks
  double total = 0;      // averaged over the ranks
  double grad_norm = 0;
  bool stop_requested = false;
  bool diverged = false;  // the loss was not finite: no update was made
};

UpdateResult apply_update(const StepUpdate& update, const StepLosses& losses, bool wants_stop,
                          double clip, ProcessGroup& group) {
  update.optimizer->zero_grad();
  losses.total.backward();
  std::vector<torch::Tensor> reduced;
  for (const auto& p : update.parameters) reduced.push_back(p.grad());
  UpdateResult result;
  result.values = losses.values.detach().to(torch::kDouble).reshape({-1});
  auto total = losses.total.detach().to(torch::kDouble).reshape({1});
  auto stop_request = torch::full({1}, wants_stop ? 1.0 : 0.0, torch::kDouble);
  reduced.push_back(result.values);
  reduced.push_back(total);
  reduced.push_back(stop_request);
  if (group.world_size() > 1) group.average(reduced);
  result.total = total.item<double>();
  if (!std::isfinite(result.total)) {  // every rank sees the same average
    result.diverged = true;
    return result;
  }
  result.grad_norm = torch::nn::utils::clip_grad_norm_(update.parameters, clip);
  update.optimizer->step();
  result.stop_requested = stop_request.item<double>() > 0;
  return result;
}

}  // namespace

std::unique_ptr<torch::optim::Optimizer> make_optimizer(
    const OptimizerSchedule& settings, const std::vector<torch::Tensor>& parameters) {
  if (settings.optimizer == "adam") {
    return std::make_unique<torch::optim::Adam>(parameters,
                                                torch::optim::AdamOptions(settings.lr)
                                                    .betas({settings.beta1, settings.beta2})
                                                    .weight_decay(settings.weight_decay));
  }
  return std::make_unique<torch::optim::AdamW>(parameters,
                                               torch::optim::AdamWOptions(settings.lr)
                                                   .betas({settings.beta1, settings.beta2})
                                                   .weight_decay(settings.weight_decay));
}

TrainResult run_training(TrainingStep& step, const RunSettings& settings,
                         const TrainOptions& options, ProcessGroup& group) {
  const bool leader = group.rank() == 0;
  const int world = group.world_size();
  TrainResult result;
  result.checkpoint = settings.output / "checkpoint.pt";
  result.log = settings.output / "log.jsonl";
  result.model_file = settings.output / (settings.name + kModelFileExtension);

  const auto updates = step.updates();
  const auto optimizers = optimizers_of(updates);
  TrainingState state;
  state.config_text = settings.text;
  state.world_size = world;
  if (options.resume) {
    state = load_checkpoint(result.checkpoint, step.modules(), optimizers);
    if (state.config_text != settings.text) {
      throw usage_error(settings.source.string() + " differs from the config " +
                        result.checkpoint.string() +
                        " was started with; resume with the same config, or give a new output");
    }
    step.restore(state.extra, world);
    state.world_size = world;
    if (leader) truncate_log(result.log, state.step);
  } else if (leader) {
    std::filesystem::remove(result.log);
  }
  result.first_step = result.step = state.step;

  JsonLog log(result.log, leader);
  const ScheduleOptions schedule{settings.lr, settings.warmup, settings.steps, settings.min_lr};
  const double clip = settings.clip_grad_norm > 0 ? settings.clip_grad_norm
                                                  : std::numeric_limits<double>::infinity();

  const auto save = [&] {
    state.step = result.step;
    state.extra = step.state(world);
    if (!leader) return;
    save_checkpoint(result.checkpoint, state, step.modules(), optimizers);
    step.export_model(result.model_file, result.step);
  };
  const auto validate = [&] {
    if (!leader) return;
    auto record = step.validate();
    if (record.is_null()) return;
    result.validation = record;
    log.write({{"step", result.step}, {"validation", record}});
  };

  if (result.step == 0) validate();  // the starting point: fine-tuning shows what it changes
  const auto run_start = Clock::now();
  auto window_start = Clock::now();
  double step_seconds = 0;  // in training steps after the first (which also sets up kernels)
  int64_t window_steps = 0;
  while (result.step < settings.steps) {
    const auto step_start = Clock::now();
    const double lr = warmup_cosine_lr(result.step, schedule);
    UpdateResult first;
    std::vector<torch::Tensor> values;  // of each update
    bool stop_requested = false;
    for (size_t u = 0; u < updates.size(); ++u) {
      set_learning_rate(*updates[u].optimizer, lr);
      const auto losses = step.losses(u, result.step);
      const bool out_of_time = settings.time_limit_minutes > 0 &&
                               seconds_since(run_start) > 60 * settings.time_limit_minutes;
      const bool wants_stop = !report(options.progress, result.step, settings.steps) || out_of_time;
      auto applied = apply_update(updates[u], losses, wants_stop, clip, group);
      if (applied.diverged) {
        throw usage_error(settings.source.string() + ": the loss is not finite at step " +
                          std::to_string(result.step + 1) +
                          (updates.size() > 1 ? " (update " + std::to_string(u + 1) + ")" : "") +
                          ": the run diverged; its last checkpoint is kept. Lower optimizer.lr "
                          "or set optimizer.clip_grad_norm, and resume or start again");
      }
      stop_requested = stop_requested || applied.stop_requested;
      values.push_back(applied.values);
      if (u == 0) first = std::move(applied);
    }
    step.after_updates();
    ++result.step;
    ++window_steps;
    if (result.step > result.first_step + 1) step_seconds += seconds_since(step_start);

    const bool last = result.step == settings.steps;
    const double rate = static_cast<double>(window_steps * step.patches_per_step()) /
                        std::max(1e-9, seconds_since(window_start));
    const bool stop_now =
        (options.stop_after > 0 && result.step - result.first_step >= options.stop_after) ||
        stop_requested;
    if (result.step % settings.log_every == 0 || last || stop_now) {
      auto record = step.log_updates(values);
      record.update({{"step", result.step},
                     {"lr", lr},
                     {"loss", first.total},
                     {"grad_norm", first.grad_norm},
                     {"patches_per_s", rate}});
      log.write(record);
      window_start = Clock::now();
      window_steps = 0;
    }
    if (options.status && leader) {
      options.status(format_status(result.step, settings.steps, first.total, lr, rate));
    }
    if (result.step % settings.val_every == 0 || last) validate();
    if (result.step % settings.checkpoint_every == 0 || last || stop_now) save();
    if (stop_now && !last) break;
  }
  group.barrier();
  result.finished = result.step == settings.steps;
  result.seconds = seconds_since(run_start);
  result.patches_per_second =
      static_cast<double>(std::max<int64_t>(0, result.step - result.first_step - 1) *
                          step.patches_per_step()) /
      std::max(1e-9, step_seconds);
  return result;
}

}  // namespace srkit
