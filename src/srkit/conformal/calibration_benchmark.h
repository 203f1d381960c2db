// How fast calibration is: megapixels of score/fidelity maps per second through the per-image
// staircases and the global sweep, and the speed-up over the brute-force oracle, measured in one
// run (srkit bench --calibration).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace srkit::conformal {

struct CalibrationBenchmark {
  std::string maps;  // "smooth": blurred, correlated score and error fields; "independent": noise
  int64_t images = 0, side = 0;
  double staircase_seconds = 0;  // all per-image staircases
  double sweep_seconds = 0;      // risk curve + thresholds for 39 alphas
  double mean_steps = 0;         // staircase steps per image
  double megapixels_per_second() const;
};

// n maps of side x side pixels, generated per image (not timed) and discarded after use.
CalibrationBenchmark benchmark_calibration(const std::string& maps, int64_t images, int64_t side,
                                           uint64_t seed = 0);

struct OracleComparison {
  int64_t images = 0, pixels = 0;
  double fast_seconds = 0, brute_force_seconds = 0;
  bool agree = false;  // identical thresholds for every alpha tried
};

// The fast calibration against brute_force_threshold on random maps with ties.
OracleComparison compare_with_oracle(int64_t images, int64_t pixels, uint64_t seed = 0);

}  // namespace srkit::conformal
