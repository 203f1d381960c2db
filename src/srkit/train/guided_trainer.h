// The training loop of guided models (MAG-Net): batches of guided patches (one task per batch,
// tasks in equal shares), loss L1 (on the known pixels, in the units the network sees) plus the
// weighted load-balancing loss of the routers, Adam(W) with warmup + cosine, gradient clipping,
// a JSON-lines log, atomic checkpoints with exact resumption, Ctrl-C and time limits. One process
// (the data-parallel path is the single-image trainer's; MAG-Net's batches are small).
//
//   auto config = srkit::read_guided_train_config("configs/magnet_all_in_one.yaml");
//   auto result = srkit::train_guided(config, {.resume = false});   // -> runs/<name>/<name>.srkit
#pragma once

#include "srkit/train/guided_train_config.h"
#include "srkit/train/trainer.h"

namespace srkit {

struct GuidedTrainResult {
  int64_t first_step = 0, step = 0;
  bool finished = false;
  double seconds = 0;
  double patches_per_second = 0;  // in steps after the first
  std::filesystem::path model_file, checkpoint, log;
};

GuidedTrainResult train_guided(const GuidedTrainConfig& config, const TrainOptions& options);

}  // namespace srkit
