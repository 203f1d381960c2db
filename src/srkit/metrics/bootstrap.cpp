#include "srkit/metrics/bootstrap.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

namespace srkit {

MeanInterval bootstrap_mean(const std::vector<double>& values, int resamples, double level,
                            uint64_t seed) {
  std::vector<double> finite;
  for (const double v : values) {
    if (std::isfinite(v)) finite.push_back(v);
  }
  MeanInterval out;
  out.count = static_cast<int64_t>(finite.size());
  if (finite.empty()) {
    out.mean = out.low = out.high = std::numeric_limits<double>::quiet_NaN();
    return out;
  }
  const auto n = finite.size();
  out.mean = std::accumulate(finite.begin(), finite.end(), 0.0) / static_cast<double>(n);
  if (resamples < 1 || n == 1) {
    out.low = out.high = out.mean;
    return out;
  }
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, n - 1);
  std::vector<double> means(resamples);
  for (auto& m : means) {
    double sum = 0;
    for (size_t i = 0; i < n; ++i) sum += finite[pick(rng)];
    m = sum / static_cast<double>(n);
  }
  std::sort(means.begin(), means.end());
  const auto at = [&](double q) {
    const auto index = static_cast<size_t>(std::clamp(q * (resamples - 1), 0.0, resamples - 1.0));
    return means[index];
  };
  out.low = at((1 - level) / 2);
  out.high = at((1 + level) / 2);
  return out;
}

}  // namespace srkit
