// Confidence intervals for a mean by the percentile bootstrap: resample the values with
// replacement, take the mean each time, report the central `level` of those means.
#pragma once

#include <cstdint>
#include <vector>

namespace srkit {

struct MeanInterval {
  double mean = 0, low = 0, high = 0;
  int64_t count = 0;
};

// Non-finite values are left out (count says how many were used); no values gives NaNs.
MeanInterval bootstrap_mean(const std::vector<double>& values, int resamples = 1000,
                            double level = 0.95, uint64_t seed = 0);

}  // namespace srkit
