// YAML training configs: the file's text (kept in checkpoints) and its contents as JSON, read
// strictly through core/config_section.h like every other config; and the reader of the
// optimiser and schedule settings every training config shares (run_settings.h).
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "srkit/core/config_section.h"
#include "srkit/train/run_settings.h"

namespace srkit {

// A config file's text and its parsed contents; a usage Error naming the file when it cannot be
// read or is not YAML. YAML scalars become JSON numbers, booleans or strings.
struct YamlDocument {
  std::string text;
  nlohmann::json root;
};
YamlDocument load_yaml_file(const std::filesystem::path& path);

// Reads the sections optimizer: {type, lr, beta1, beta2, weight_decay, clip_grad_norm} and
// schedule: {steps, warmup, min_lr, time_limit_minutes} of `top`; `defaults` gives the values of
// absent keys.
OptimizerSchedule read_optimizer_schedule(ConfigSection& top, const OptimizerSchedule& defaults);

}  // namespace srkit
