// The settings every training run shares, whatever its step: the optimiser, the schedule, where
// the run writes and how often. Training configs derive from RunSettings and add their own.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace srkit {

// optimizer: {type, lr, beta1, beta2, weight_decay, clip_grad_norm} and
// schedule: {steps, warmup, min_lr, time_limit_minutes}.
struct OptimizerSchedule {
  std::string optimizer = "adamw";  // adam or adamw
  double lr = 2e-4, beta1 = 0.9, beta2 = 0.99, weight_decay = 0.0;
  double clip_grad_norm = 0.0;  // 0 = no clipping
  int64_t steps = 1000, warmup = 0;
  double min_lr = 0.0;            // where the cosine ends
  double time_limit_minutes = 0;  // stop (checkpoint + export) after this long; 0 = no limit
};

// What every training run has besides its optimiser: its config, where it writes and how often.
struct RunSettings : OptimizerSchedule {
  std::filesystem::path source;  // the YAML file
  std::string text;              // its contents, kept in checkpoints
  std::string name;
  std::filesystem::path output;  // checkpoint.pt, log.jsonl and <name>.srkit go here
  int64_t checkpoint_every = 500, log_every = 10;
  int64_t val_every = 500;  // for steps that validate
};

}  // namespace srkit
