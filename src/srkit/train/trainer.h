// The training loop behind `srkit train`: batches from a dataset, the configured loss, AdamW with
// warmup + cosine, gradient clipping, an exponential moving average of the weights (the exported
// model), validation, a JSON-lines log, atomic checkpoints and exact resumption, on one process or
// data-parallel on several (gradients averaged over the ranks by c10d).
//
//   auto config = srkit::read_train_config("configs/compact_x4.yaml");
//   srkit::ProcessGroup group(srkit::distributed_environment());
//   auto result = srkit::train(config, {.resume = true}, group);   // -> runs/<name>/<name>.srkit
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "srkit/train/distributed.h"
#include "srkit/train/train_config.h"
#include "srkit/train/validation.h"

namespace srkit {

struct TrainOptions {
  bool resume = false;     // continue from <output>/checkpoint.pt
  int64_t stop_after = 0;  // stop after this many steps of this run (checkpointed); 0 = to the end
  std::function<bool()> should_stop;               // polled after every step (Ctrl-C)
  std::function<void(const std::string&)> status;  // a one-line progress report per step
};

struct TrainResult {
  int64_t first_step = 0;  // where this run started (0, or the checkpoint's step)
  int64_t step = 0;        // steps completed
  bool finished = false;   // reached schedule.steps
  double seconds = 0;
  // Over all processes, in this run's training steps after the first (data, forward, backward,
  // all-reduce, optimiser, EMA; not validation or checkpoints).
  double patches_per_second = 0;
  bool validated = false;
  ValidationScores validation;  // the last one
  std::filesystem::path model_file, checkpoint, log;
};

TrainResult train(const TrainConfig& config, const TrainOptions& options, ProcessGroup& group);

// The network a config starts from: `init` (a registered RDN/RRDN with its imported weights, or a
// .srkit file) or a fresh `model:` seeded by data.seed.
Network initial_network(const TrainConfig& config);

}  // namespace srkit
