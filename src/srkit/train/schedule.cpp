#include "srkit/train/schedule.h"

#include <algorithm>
#include <cmath>

namespace srkit {

double warmup_cosine_lr(int64_t step, const ScheduleOptions& options) {
  if (step < options.warmup) {
    return options.lr * static_cast<double>(step + 1) / static_cast<double>(options.warmup);
  }
  const int64_t span = std::max<int64_t>(1, options.steps - options.warmup - 1);
  const double t = std::min(1.0, static_cast<double>(step - options.warmup) / span);
  return options.min_lr + (options.lr - options.min_lr) * 0.5 * (1.0 + std::cos(M_PI * t));
}

}  // namespace srkit
