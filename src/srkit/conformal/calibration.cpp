#include "srkit/conformal/calibration.h"

#include <algorithm>
#include <cmath>

#include <c10/util/Exception.h>
#include <torch/torch.h>

namespace srkit::conformal {
namespace {

// Buckets of the score range for the record pre-filter.
constexpr int64_t kMaxBuckets = 1 << 16;

struct Pixel {
  float score;
  Ticks loss;
};

void check_pixel(float score, float error) {
  TORCH_CHECK(!std::isnan(score), "a confidence score is NaN");
  TORCH_CHECK(error >= 0.0F && error <= kFidelityBound,
              "a fidelity error is outside [0, 3] (or NaN): ", error);
}

// Appends the records of pixels sorted by score: a group of equal scores sets a record when its
// worst error exceeds every error at smaller scores.
void append_records(const std::vector<Pixel>& sorted, Staircase& out) {
  Ticks running = 0;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    Ticks group = 0;
    for (; j < sorted.size() && sorted[j].score == sorted[i].score; ++j) {
      group = std::max(group, sorted[j].loss);
    }
    if (group > running) {
      out.steps.push_back({sorted[i].score, group});
      running = group;
    }
    i = j;
  }
}

}  // namespace

Ticks to_ticks(double error) { return static_cast<Ticks>(std::ceil(error * kTicksPerUnit)); }

double from_ticks(Ticks ticks) { return static_cast<double>(ticks) / kTicksPerUnit; }

Staircase image_staircase(const torch::Tensor& score, const torch::Tensor& fidelity) {
  TORCH_CHECK(score.numel() == fidelity.numel(), "score map has ", score.numel(),
              " pixels, fidelity map ", fidelity.numel());
  const auto s = score.detach().to(torch::kCPU, torch::kFloat).contiguous();
  const auto d = fidelity.detach().to(torch::kCPU, torch::kFloat).contiguous();
  return image_staircase(s.data_ptr<float>(), d.data_ptr<float>(), s.numel());
}

// A pixel can only set a record if its error exceeds the worst error of every bucket of strictly
// smaller scores (buckets split the score range monotonically, so equal scores share a bucket).
// Only those candidates are sorted; the others never change the running maximum.
Staircase image_staircase(const float* score, const float* fidelity, int64_t pixels) {
  Staircase out;
  out.pixels = pixels;
  if (pixels == 0) return out;
  float low = std::numeric_limits<float>::infinity();
  float high = -low;
  for (int64_t p = 0; p < pixels; ++p) {
    check_pixel(score[p], fidelity[p]);
    low = std::min(low, score[p]);
    high = std::max(high, score[p]);
  }
  const int64_t buckets = std::min<int64_t>(kMaxBuckets, pixels);
  const double range = static_cast<double>(high) - static_cast<double>(low);
  const double per_unit = (std::isfinite(range) && range > 0) ? (buckets - 1) / range : 0.0;
  const auto bucket_of = [&](float s) -> int64_t {
    if (per_unit == 0.0) return s == high ? buckets - 1 : 0;  // one level, or infinite scores
    const double b = std::floor((static_cast<double>(s) - low) * per_unit);
    return std::clamp<int64_t>(static_cast<int64_t>(b), 0, buckets - 1);
  };

  std::vector<Ticks> bucket_worst(buckets, 0);
  for (int64_t p = 0; p < pixels; ++p) {
    auto& worst = bucket_worst[bucket_of(score[p])];
    worst = std::max(worst, to_ticks(fidelity[p]));
  }
  std::vector<Ticks> worst_before(buckets, 0);
  for (int64_t b = 1; b < buckets; ++b) {
    worst_before[b] = std::max(worst_before[b - 1], bucket_worst[b - 1]);
  }

  std::vector<Pixel> candidates;
  for (int64_t p = 0; p < pixels; ++p) {
    const Ticks loss = to_ticks(fidelity[p]);
    if (loss > worst_before[bucket_of(score[p])]) candidates.push_back({score[p], loss});
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const Pixel& a, const Pixel& b) { return a.score < b.score; });
  append_records(candidates, out);
  return out;
}

Ticks loss_below(const Staircase& image, float threshold) {
  const auto after = std::lower_bound(image.steps.begin(), image.steps.end(), threshold,
                                      [](const Step& step, float t) { return step.score < t; });
  return after == image.steps.begin() ? 0 : std::prev(after)->loss;
}

RiskCurve risk_curve(const std::vector<Staircase>& images) {
  struct Event {
    float score;
    uint32_t image;
    Ticks loss;
  };
  std::vector<Event> events;
  for (size_t i = 0; i < images.size(); ++i) {
    for (const auto& step : images[i].steps) {
      events.push_back({step.score, static_cast<uint32_t>(i), step.loss});
    }
  }
  std::sort(events.begin(), events.end(),
            [](const Event& a, const Event& b) { return a.score < b.score; });

  RiskCurve curve;
  curve.images = static_cast<int64_t>(images.size());
  std::vector<Ticks> current(images.size(), 0);
  Ticks sum = 0;
  for (size_t i = 0; i < events.size();) {
    size_t j = i;
    for (; j < events.size() && events[j].score == events[i].score; ++j) {
      sum += events[j].loss - current[events[j].image];  // steps only rise
      current[events[j].image] = events[j].loss;
    }
    curve.scores.push_back(events[i].score);
    curve.sums.push_back(sum);
    i = j;
  }
  return curve;
}

int64_t loss_budget(int64_t images, double alpha) {
  const double budget = alpha * static_cast<double>(images + 1) - kFidelityBound;
  if (std::isnan(budget) || budget < 0) return -1;
  const double ticks = std::floor(budget * kTicksPerUnit);
  constexpr double kLargest = 9.0e18;  // any budget above 3n units means "never exceeded"
  return ticks >= kLargest ? static_cast<int64_t>(kLargest) : static_cast<int64_t>(ticks);
}

float threshold_for(const RiskCurve& curve, double alpha) {
  const int64_t budget = loss_budget(curve.images, alpha);
  if (budget < 0) return kEmptyMask;
  const auto first_over =
      std::upper_bound(curve.sums.begin(), curve.sums.end(), static_cast<Ticks>(budget));
  if (first_over == curve.sums.end()) return kFullMask;
  return curve.scores[first_over - curve.sums.begin()];
}

float brute_force_threshold(const std::vector<std::vector<float>>& scores,
                            const std::vector<std::vector<float>>& errors, double alpha) {
  const int64_t budget = loss_budget(static_cast<int64_t>(scores.size()), alpha);
  if (budget < 0) return kEmptyMask;
  float first_over = kFullMask;
  for (const auto& image_scores : scores) {
    for (const float t : image_scores) {
      Ticks sum = 0;
      for (size_t i = 0; i < scores.size(); ++i) {
        Ticks loss = 0;
        for (size_t p = 0; p < scores[i].size(); ++p) {
          if (scores[i][p] <= t) loss = std::max(loss, to_ticks(errors[i][p]));
        }
        sum += loss;
      }
      if (sum > static_cast<Ticks>(budget)) first_over = std::min(first_over, t);
    }
  }
  return first_over;
}

}  // namespace srkit::conformal
