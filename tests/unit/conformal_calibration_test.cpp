// The conformal threshold: the fast sweep against its brute-force twin, the worked example and the
// counterexample of docs/conformal.md, and the guarantee itself by simulation.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/conformal/calibration.h"

namespace srkit::conformal {
namespace {

using Maps = std::vector<std::vector<float>>;

std::vector<Staircase> staircases(const Maps& scores, const Maps& errors) {
  std::vector<Staircase> out;
  for (size_t i = 0; i < scores.size(); ++i) {
    out.push_back(image_staircase(scores[i].data(), errors[i].data(),
                                  static_cast<int64_t>(scores[i].size())));
  }
  return out;
}

float fast_threshold(const Maps& scores, const Maps& errors, double alpha) {
  return threshold_for(risk_curve(staircases(scores, errors)), alpha);
}

// The worst error over pixels with score < t, by scanning: the test-time loss.
double worst_trusted(const std::vector<float>& scores, const std::vector<float>& errors, float t) {
  double worst = 0;
  for (size_t p = 0; p < scores.size(); ++p) {
    if (scores[p] < t) worst = std::max<double>(worst, errors[p]);
  }
  return worst;
}

// Random small calibration sets: ties (quantised scores and errors), one level, n = 1, d = 1.
struct RandomCase {
  Maps scores, errors;
};

RandomCase random_case(std::mt19937& rng) {
  std::uniform_int_distribution<int> images(1, 8), pixels(1, 10), style(0, 3);
  std::uniform_real_distribution<float> unit(0.0F, 1.0F);
  RandomCase c;
  const int n = images(rng);
  const int kind = style(rng);
  for (int i = 0; i < n; ++i) {
    const int d = pixels(rng);
    std::vector<float> s(d), e(d);
    for (int p = 0; p < d; ++p) {
      s[p] = unit(rng);
      if (kind == 1) s[p] = std::floor(s[p] * 4) / 4;  // heavy ties
      if (kind == 2) s[p] = 0.5F;                      // one level
      e[p] = 3.0F * unit(rng);
      if (kind != 0) e[p] = std::floor(e[p] * 2) / 2;  // tied errors, including 0 and 2.5
    }
    c.scores.push_back(s);
    c.errors.push_back(e);
  }
  return c;
}

TEST(ConformalCalibration, FastSweepEqualsBruteForceOnRandomCasesWithTies) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> alpha_draw(0.0, 3.5);
  int nonempty = 0, partial = 0;
  for (int trial = 0; trial < 10000; ++trial) {
    const auto c = random_case(rng);
    const auto curve = risk_curve(staircases(c.scores, c.errors));
    const double n = static_cast<double>(c.scores.size());
    std::vector<double> alphas = {0.0, 3.0 / (n + 1) - 1e-9, 3.0 / (n + 1), 3.0, 3.5};
    for (int k = 0; k < 6; ++k) alphas.push_back(alpha_draw(rng));
    for (const double alpha : alphas) {
      const float fast = threshold_for(curve, alpha);
      ASSERT_EQ(fast, brute_force_threshold(c.scores, c.errors, alpha))
          << "trial " << trial << " alpha " << alpha;
      if (fast != kEmptyMask) ++nonempty;
      if (std::isfinite(fast)) ++partial;
    }
  }
  EXPECT_GT(partial, 10000);  // the comparison is not only about the trivial cases
  EXPECT_GT(nonempty, partial);
}

TEST(ConformalCalibration, StaircaseEqualsSortingEveryPixel) {
  std::mt19937 rng(11);
  std::normal_distribution<float> noise(0.0F, 1.0F);
  for (const int d : {1, 2, 1000, 70000, 200000}) {
    for (int kind = 0; kind < 3; ++kind) {
      std::vector<float> s(d), e(d);
      for (int p = 0; p < d; ++p) {
        const float u = static_cast<float>(p) / static_cast<float>(d);
        s[p] = kind == 0 ? noise(rng) : u + 0.01F * noise(rng);  // kind 1, 2: score orders errors
        const float err = kind == 2 ? 3.0F * u : std::abs(noise(rng));
        e[p] = std::clamp(err, 0.0F, 3.0F);
        if (kind == 1 && p % 3 == 0) s[p] = std::round(s[p] * 100) / 100;  // ties
      }
      const auto fast = image_staircase(s.data(), e.data(), d);
      std::vector<size_t> order(d);
      for (int p = 0; p < d; ++p) order[p] = p;
      std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return s[a] < s[b]; });
      std::vector<Step> slow;
      Ticks running = 0;
      for (size_t i = 0; i < order.size();) {
        size_t j = i;
        Ticks group = 0;
        for (; j < order.size() && s[order[j]] == s[order[i]]; ++j) {
          group = std::max(group, to_ticks(e[order[j]]));
        }
        if (group > running) slow.push_back({s[order[i]], running = group});
        i = j;
      }
      ASSERT_EQ(fast.steps.size(), slow.size()) << "d " << d << " kind " << kind;
      for (size_t k = 0; k < slow.size(); ++k) {
        EXPECT_EQ(fast.steps[k].score, slow[k].score);
        EXPECT_EQ(fast.steps[k].loss, slow[k].loss);
      }
    }
  }
}

TEST(ConformalCalibration, LossBelowIsTheWorstErrorOfTheStrictMask) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 2000; ++trial) {
    const auto c = random_case(rng);
    const auto stairs = staircases(c.scores, c.errors);
    for (size_t i = 0; i < stairs.size(); ++i) {
      for (const float t : {0.0F, 0.25F, 0.5F, 0.51F, 0.75F, 1.0F, kEmptyMask, kFullMask}) {
        EXPECT_EQ(from_ticks(loss_below(stairs[i], t)),
                  from_ticks(to_ticks(worst_trusted(c.scores[i], c.errors[i], t))));
      }
    }
  }
}

// docs/conformal.md section 2: n = 3, d = 4.
TEST(ConformalCalibration, WorkedExample) {
  const Maps scores = {
      {0.1F, 0.4F, 0.7F, 0.9F}, {0.2F, 0.3F, 0.8F, 0.95F}, {0.05F, 0.5F, 0.6F, 0.85F}};
  const Maps errors = {
      {0.2F, 0.5F, 0.3F, 2.0F}, {0.1F, 0.9F, 0.4F, 1.5F}, {0.3F, 0.2F, 1.2F, 0.6F}};
  EXPECT_EQ(fast_threshold(scores, errors, 1.2), 0.6F);  // trusted: score < 0.6
  EXPECT_EQ(fast_threshold(scores, errors, 1.0), 0.3F);  // the largest feasible t is 0.2
  EXPECT_EQ(fast_threshold(scores, errors, 2.0), kFullMask);
  EXPECT_EQ(fast_threshold(scores, errors, 0.8), 0.05F);  // not even the first pixel: no mask
  EXPECT_EQ(fast_threshold(scores, errors, 0.75), 0.05F);
  EXPECT_EQ(fast_threshold(scores, errors, 0.7), kEmptyMask);  // 3/(n+1) > alpha
  EXPECT_LT(0.55F, fast_threshold(scores, errors, 1.2));       // a test pixel at 0.55 is trusted
}

// docs/conformal.md section 4.1: with "score <= t" at the first violating level the test risk
// would be 3; the strict mask gives 0.
TEST(ConformalCalibration, TwoLevelCounterexampleKeepsRiskZero) {
  const Maps scores = {{0, 0, 1, 1}, {0, 1, 1, 1}, {0, 0, 0, 1}};
  const Maps errors = {{0, 0, 3, 3}, {0, 3, 3, 3}, {0, 0, 0, 3}};
  const float t = fast_threshold(scores, errors, 0.8);
  EXPECT_EQ(t, 1.0F);
  const std::vector<float> test_scores = {0, 1, 1, 0}, test_errors = {0, 3, 3, 0};
  EXPECT_EQ(worst_trusted(test_scores, test_errors, t), 0.0);
}

TEST(ConformalCalibration, ThresholdsRiseWithAlphaSoMasksAreNested) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 500; ++trial) {
    const auto c = random_case(rng);
    const auto curve = risk_curve(staircases(c.scores, c.errors));
    float previous = kEmptyMask;
    for (double alpha = 0.0; alpha <= 3.2; alpha += 0.01) {
      const float t = threshold_for(curve, alpha);
      ASSERT_GE(t, previous) << "alpha " << alpha;
      previous = t;
    }
    EXPECT_EQ(previous, kFullMask);
  }
}

// Simulation of Theorem 2.1: draw n calibration images and one test image, calibrate, measure the
// test image's worst trusted error; average over many draws.
struct RiskEstimate {
  double mean = 0, standard_error = 0;
};

template <class Draw>
RiskEstimate simulate(Draw draw, int n, int leaked, double alpha, int draws, uint32_t seed) {
  std::mt19937 rng(seed);
  double sum = 0, sum_sq = 0;
  for (int r = 0; r < draws; ++r) {
    std::vector<Staircase> calibration;
    for (int i = 0; i < n; ++i) {
      auto [s, e] = draw(rng);
      if (i < leaked) std::fill(e.begin(), e.end(), 0.0F);  // training images: no error
      calibration.push_back(image_staircase(s.data(), e.data(), static_cast<int64_t>(s.size())));
    }
    const float t = threshold_for(risk_curve(calibration), alpha);
    const auto [s, e] = draw(rng);
    const double risk = worst_trusted(s, e, t);
    sum += risk;
    sum_sq += risk * risk;
  }
  RiskEstimate out;
  out.mean = sum / draws;
  out.standard_error = std::sqrt((sum_sq / draws - out.mean * out.mean) / draws);
  std::printf("n %d (%d leaked), alpha %.3f: mean test risk %.4f +- %.4f over %d draws\n", n,
              leaked, alpha, out.mean, out.standard_error, draws);
  return out;
}

// The tight case of conformal.md 5.5: per image U ~ U(0,1), scores U(0,1), D = 3 [score >= U].
auto tight_draw = [](std::mt19937& rng) {
  std::uniform_real_distribution<float> unit(0.0F, 1.0F);
  const float u = unit(rng);
  std::vector<float> s(100), e(100);
  for (size_t p = 0; p < s.size(); ++p) {
    s[p] = unit(rng);
    e[p] = s[p] >= u ? 3.0F : 0.0F;
  }
  return std::make_pair(s, e);
};

TEST(ConformalCalibration, TightCaseRiskIsAlphaWithinThreeStandardErrors) {
  for (const double alpha : {0.3, 0.6}) {
    const auto risk = simulate(tight_draw, 29, 0, alpha, 4000, 17);
    EXPECT_LE(risk.mean, alpha + 3 * risk.standard_error) << "alpha " << alpha;
    EXPECT_GE(risk.mean, alpha - 0.05) << "the tight case should be close to alpha";
  }
}

TEST(ConformalCalibration, SmoothCaseRiskIsClearlyBelowAlpha) {
  auto smooth_draw = [](std::mt19937& rng) {
    std::uniform_real_distribution<float> unit(0.0F, 1.0F);
    std::vector<float> s(200), e(200);
    for (size_t p = 0; p < s.size(); ++p) e[p] = s[p] = unit(rng);  // error grows with the score
    return std::make_pair(s, e);
  };
  const auto risk = simulate(smooth_draw, 29, 0, 0.3, 2000, 19);
  EXPECT_LT(risk.mean, 0.25);  // about (alpha (n+1) - 3) / n = 0.21
}

// Proposition 3.2: leaked calibration images (zero error) loosen the guarantee to
// alpha (n_new + n_leaked + 1) / (n_new + 1); they cannot break it.
TEST(ConformalCalibration, LeakedImagesStayWithinTheLeakageBound) {
  const int n = 39, leaked = 10;
  const double alpha = 0.3;
  const auto risk = simulate(tight_draw, n, leaked, alpha, 4000, 23);
  const double bound = alpha * (n + 1) / (n - leaked + 1);
  EXPECT_LE(risk.mean, bound + 3 * risk.standard_error);
  EXPECT_GT(risk.mean, alpha);  // leakage does cost something here
}

}  // namespace
}  // namespace srkit::conformal
