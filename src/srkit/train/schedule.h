// Learning-rate schedule: linear warmup from 0, then a cosine from the base rate down to `min_lr`
// at the last step.
//
//   double lr = srkit::warmup_cosine_lr(step, {.lr = 2e-4, .warmup = 100, .steps = 5000});
#pragma once

#include <cstdint>

namespace srkit {

struct ScheduleOptions {
  double lr = 2e-4;
  int64_t warmup = 0;  // steps of linear warmup
  int64_t steps = 1;   // total steps
  double min_lr = 0;
};

// The rate for step `step` (0-based): (step + 1) / warmup * lr during warmup, then
// min_lr + (lr - min_lr) * (1 + cos(pi * t)) / 2 with t going from 0 to 1 over the other steps.
double warmup_cosine_lr(int64_t step, const ScheduleOptions& options);

}  // namespace srkit
