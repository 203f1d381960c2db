#include "srkit/conformal/calibration_benchmark.h"

#include <chrono>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "srkit/conformal/calibration.h"
#include "srkit/ops/filters.h"

namespace srkit::conformal {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The alpha grid of the paper's calibration script: 0.025..0.5 in 39 steps.
std::vector<double> paper_alphas() {
  std::vector<double> alphas;
  for (int k = 0; k < 39; ++k) alphas.push_back(0.025 + 0.0125 * k);
  return alphas;
}

// Score and error maps shaped like real ones: smooth fields, errors rising with the score plus
// their own structure, so the staircase pre-filter meets realistic record counts.
std::pair<torch::Tensor, torch::Tensor> make_maps(const std::string& kind, int64_t side,
                                                  torch::Generator& generator) {
  auto noise = [&] { return at::rand({side, side}, generator); };
  if (kind == "independent") return {noise(), 3.0 * noise().pow(4)};
  auto field = [&] {
    const auto f = gaussian_blur(noise(), 4.0);
    return (f - f.min()) / (f.max() - f.min());
  };
  const auto score = field();
  const auto error = (0.4 * score.pow(2) + 0.1 * field()).clamp(0, 3);
  return {score.contiguous(), error.contiguous()};
}

}  // namespace

double CalibrationBenchmark::megapixels_per_second() const {
  const double seconds = staircase_seconds + sweep_seconds;
  return seconds > 0 ? static_cast<double>(images * side * side) / seconds / 1e6 : 0;
}

CalibrationBenchmark benchmark_calibration(const std::string& maps, int64_t images, int64_t side,
                                           uint64_t seed) {
  TORCH_CHECK(maps == "smooth" || maps == "independent", "maps must be smooth or independent");
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  CalibrationBenchmark out;
  out.maps = maps;
  out.images = images;
  out.side = side;
  std::vector<Staircase> staircases;
  int64_t steps = 0;
  for (int64_t i = 0; i < images; ++i) {
    const auto [score, error] = make_maps(maps, side, generator);
    const auto start = Clock::now();
    staircases.push_back(image_staircase(score, error));
    out.staircase_seconds += since(start);
    steps += static_cast<int64_t>(staircases.back().steps.size());
  }
  const auto start = Clock::now();
  const auto curve = risk_curve(staircases);
  volatile float sink = 0;
  for (const double alpha : paper_alphas()) sink = sink + threshold_for(curve, alpha);
  out.sweep_seconds = since(start);
  out.mean_steps = static_cast<double>(steps) / static_cast<double>(images);
  return out;
}

OracleComparison compare_with_oracle(int64_t images, int64_t pixels, uint64_t seed) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<std::vector<float>> scores, errors;
  for (int64_t i = 0; i < images; ++i) {
    const auto s = (at::rand({pixels}, generator) * 64).floor() / 64;  // ties
    const auto e = 3.0 * at::rand({pixels}, generator).pow(4);
    scores.emplace_back(s.data_ptr<float>(), s.data_ptr<float>() + pixels);
    errors.emplace_back(e.data_ptr<float>(), e.data_ptr<float>() + pixels);
  }
  const std::vector<double> alphas = {0.1, 0.3, 0.6, 1.0};
  OracleComparison out;
  out.images = images;
  out.pixels = pixels;
  std::vector<float> fast, slow;
  // The fast path is too quick to time once: repeat it for at least 0.1 s.
  int repeats = 0;
  auto start = Clock::now();
  do {
    std::vector<Staircase> staircases;
    for (int64_t i = 0; i < images; ++i) {
      staircases.push_back(image_staircase(scores[i].data(), errors[i].data(), pixels));
    }
    const auto curve = risk_curve(staircases);
    fast.clear();
    for (const double a : alphas) fast.push_back(threshold_for(curve, a));
    ++repeats;
  } while (since(start) < 0.1);
  out.fast_seconds = since(start) / repeats;
  start = Clock::now();
  for (const double a : alphas) slow.push_back(brute_force_threshold(scores, errors, a));
  out.brute_force_seconds = since(start);
  out.agree = fast == slow;
  return out;
}

}  // namespace srkit::conformal
