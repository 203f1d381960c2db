#include "srkit/train/train.h"

#include "srkit/train/distillation_step.h"
#include "srkit/train/flow_step.h"
#include "srkit/train/multimodal_step.h"
#include "srkit/train/preference_step.h"
#include "srkit/train/regression_step.h"

namespace srkit {

TrainResult train(const TrainConfig& config, const TrainOptions& options, ProcessGroup& group) {
  if (config.is_multimodal) {
    MultimodalStep step(config, group);
    return run_training(step, config, options, group);
  }
  if (config.has_distill) {
    DistillationStep step(config, group);
    return run_training(step, config, options, group);
  }
  if (config.has_preference) {
    PreferenceStep step(config, group);
    return run_training(step, config, options, group);
  }
  if (is_flow_config(config)) {
    FlowStep step(config, group);
    return run_training(step, config, options, group);
  }
  RegressionStep step(config, group);
  return run_training(step, config, options, group);
}

}  // namespace srkit
