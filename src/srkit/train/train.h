// `srkit train` for a config of train/train_config.h: the step its model needs (a single-image
// network: train/regression_step.h; a flow model: train/flow_step.h) through the one loop.
//
//   auto config = srkit::read_train_config("configs/compact_x4.yaml");
//   srkit::ProcessGroup group(srkit::distributed_environment());
//   auto result = srkit::train(config, {.resume = true}, group);   // -> runs/<name>/<name>.srkit
#pragma once

#include "srkit/train/train_config.h"
#include "srkit/train/training_loop.h"

namespace srkit {

TrainResult train(const TrainConfig& config, const TrainOptions& options, ProcessGroup& group);

}  // namespace srkit
