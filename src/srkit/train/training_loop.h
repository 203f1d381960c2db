// The one training loop of srkit, around a pluggable step.
//
// The loop owns what every kind of training shares: the learning-rate schedule (warmup + cosine),
// the all-reduce of gradients and losses over data-parallel ranks, gradient clipping, the
// optimiser updates, checkpoints with exact resumption, validation and log cadence, the JSON-lines
// log, throughput, Ctrl-C, --stop-after and time limits. A TrainingStep owns what differs: its
// networks, its data, its losses, what it exports. Five steps exist (train/regression_step.h,
// train/guided_step.h, train/flow_step.h, train/preference_step.h, train/distillation_step.h); a
// step may hold several networks and optimisers: a frozen reference scored on the same batch as a
// policy, or two networks updated alternately (train/distillation_step.h; docs/architecture.md).
//
//   RegressionStep step(config, group);
//   TrainResult result = srkit::run_training(step, config, options, group);
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>
#include <nlohmann/json.hpp>

#include "srkit/core/progress.h"
#include "srkit/train/distributed.h"
#include "srkit/train/run_settings.h"

namespace srkit {

// One optimiser update within a training step: the optimiser and the parameters it updates (their
// gradients are all-reduced and clipped together).
struct StepUpdate {
  torch::optim::Optimizer* optimizer = nullptr;
  std::vector<torch::Tensor> parameters;
};

// The losses of one update: `total` is what the loop runs backward on; `values` (float64, [K],
// detached) are averaged over the ranks with the gradients and given back to log_record().
struct StepLosses {
  torch::Tensor total;
  torch::Tensor values;
};

class TrainingStep {
 public:
  virtual ~TrainingStep() = default;

  // What a checkpoint holds besides the optimisers, by archive key ("network", "average", ...).
  virtual std::vector<std::pair<std::string, torch::nn::Module*>> modules() = 0;
  // The updates of one training step, in order: one for most steps; one per network for steps
  // that update several networks alternately. Their optimisers are checkpointed as "optimizer",
  // "optimizer1", ...
  virtual std::vector<StepUpdate> updates() = 0;

  // Draws the data of training step `step` and computes update `update`'s losses (forward only;
  // the loop runs backward, all-reduce, clipping and the optimiser).
  virtual StepLosses losses(size_t update, int64_t step) = 0;
  // Called once all updates of a step are applied (a moving average of the weights, say).
  virtual void after_updates() {}

  // The log record of a step besides step, lr, loss, grad_norm and patches_per_s, from the losses
  // of the step's first update averaged over the ranks.
  virtual nlohmann::json log_record(const torch::Tensor& values) const = 0;
  // The log record from every update's losses, in order (each averaged over the ranks): by
  // default log_record of the first's. Steps with several updates report the others' here.
  virtual nlohmann::json log_updates(const std::vector<torch::Tensor>& values) const {
    return log_record(values.front());
  }
  // Patches of one training step over all processes, for the throughput.
  virtual int64_t patches_per_step() const = 0;

  // The step's own state for checkpoints (where its data is, ...) as flat JSON fields, and its
  // restoration on resume (`world_size`: this run's processes).
  virtual nlohmann::json state(int world_size) const = 0;
  virtual void restore(const nlohmann::json& state, int world_size) = 0;

  // Writes the trained model (atomically) after `steps` steps.
  virtual void export_model(const std::filesystem::path& path, int64_t steps) = 0;
  // Validation on the leading rank: a JSON record for the log, or null when the step has none.
  virtual nlohmann::json validate() { return nullptr; }
};

struct TrainOptions {
  bool resume = false;     // continue from <output>/checkpoint.pt
  int64_t stop_after = 0;  // stop after this many steps of this run (checkpointed); 0 = to the end
  ProgressFn progress;     // after every step (steps done, steps in all); false stops (Ctrl-C)
  std::function<void(const std::string&)> status;  // a one-line progress report per step
};

struct TrainResult {
  int64_t first_step = 0;  // where this run started (0, or the checkpoint's step)
  int64_t step = 0;        // steps completed
  bool finished = false;   // reached the schedule's steps
  double seconds = 0;
  // Over all processes, in this run's training steps after the first (data, forward, backward,
  // all-reduce, optimiser, EMA; not validation or checkpoints).
  double patches_per_second = 0;
  nlohmann::json validation;  // the last validation record, or null
  std::filesystem::path model_file, checkpoint, log;
};

TrainResult run_training(TrainingStep& step, const RunSettings& settings,
                         const TrainOptions& options, ProcessGroup& group);

// The configured optimiser (Adam or AdamW with its betas and weight decay) over `parameters`.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(
    const OptimizerSchedule& settings, const std::vector<torch::Tensor>& parameters);

}  // namespace srkit
