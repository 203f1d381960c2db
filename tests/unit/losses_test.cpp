// Training losses against their definitions: Parseval at s = 0, the Sobolev weights on pure
// frequencies, the authors' half-plane variant, the DCT basis, gradients that exist, and the
// preference loss of seed 001 against a hand computation.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/ops/dct.h"
#include "srkit/train/losses.h"
#include "srkit/train/preference_loss.h"

namespace srkit {
namespace {

constexpr double kPi = 3.14159265358979323846;

SobolevOptions with(SobolevTransform transform, double s, double scale = 1.0) {
  SobolevOptions options;
  options.transform = transform;
  options.s = s;
  options.frequency_scale = scale;
  return options;
}

TEST(Dct, MatrixIsOrthonormal) {
  for (const int64_t n : {1, 2, 7, 16}) {
    const auto d = dct_matrix(n, torch::kFloat64);
    EXPECT_TRUE(
        torch::allclose(torch::matmul(d, d.t()), torch::eye(n, torch::kFloat64), 1e-12, 1e-12));
  }
}

TEST(SobolevLoss, OrderZeroIsTheMeanSquaredErrorByParseval) {
  torch::manual_seed(1);
  const auto r = torch::randn({3, 2, 12, 10});
  const auto mse = r.square().mean({1, 2, 3});
  for (const auto t : {SobolevTransform::kFft, SobolevTransform::kDct}) {
    EXPECT_TRUE(torch::allclose(sobolev_norm_sq(r, with(t, 0.0)), mse, 1e-5, 1e-7));
  }
}

// The authors' code sums the rfft half-plane without doubling the mirrored columns: half of the
// energy plus half of the columns k_w = 0 and k_w = W/2, which the half-plane holds only once.
TEST(SobolevLoss, HalfPlaneIsTheAuthorsUndoubledSum) {
  torch::manual_seed(2);
  const auto r = torch::randn({2, 3, 8, 10}, torch::kFloat64);
  const auto full =
      torch::view_as_real(torch::fft::fft2(r, c10::nullopt, {-2, -1}, "ortho")).square().sum(-1);
  const auto column = [&](int64_t l) { return full.select(-1, l).sum({1, 2}); };
  const auto expected = (full.sum({1, 2, 3}) + column(0) + column(5)) / 2.0 / (3 * 8 * 10);
  EXPECT_TRUE(torch::allclose(sobolev_norm_sq(r, with(SobolevTransform::kFftHalfPlane, 0.0)),
                              expected.to(torch::kFloat), 1e-5, 1e-7));
}

// A pure cosine of k cycles per image has all its energy at |w| = k (FFT) or at DCT index 2k, so
// its H^s norm is (1 + k^2)^s times its mean square.
TEST(SobolevLoss, WeightsRiseWithFrequencyAsSpecified) {
  const int64_t h = 16, w = 32;
  const double s = 1.5;
  const auto x = torch::arange(w, torch::kFloat64).view({1, 1, 1, w}).expand({1, 1, h, w});
  for (const int k : {0, 1, 3, 7}) {
    const auto periodic = torch::cos(2 * kPi * k * x / w);
    const double power = periodic.square().mean().item<double>();
    EXPECT_NEAR(sobolev_norm_sq(periodic, with(SobolevTransform::kFft, s)).item<double>(),
                std::pow(1 + k * k, s) * power, 1e-3 * std::pow(1 + k * k, s))
        << "fft, k = " << k;
    const auto even = torch::cos(kPi * (2 * k) * (x + 0.5) / w);  // DCT basis 2k: k cycles
    const double even_power = even.square().mean().item<double>();
    EXPECT_NEAR(sobolev_norm_sq(even, with(SobolevTransform::kDct, s)).item<double>(),
                std::pow(1 + k * k, s) * even_power, 1e-3 * std::pow(1 + k * k, s))
        << "dct, k = " << k;
  }
  const auto weights = sobolev_weights(h, w, with(SobolevTransform::kFft, s));
  for (int64_t l = 1; l < w / 2; ++l)
    EXPECT_GT(weights[0][l].item<float>(), weights[0][l - 1].item<float>());
  EXPECT_FLOAT_EQ(weights[0][0].item<float>(), 1.0F);
}

TEST(SobolevLoss, FrequencyScaleScalesTheIndex) {
  const auto scaled = sobolev_weights(8, 8, with(SobolevTransform::kDct, 1.5, 0.125));
  const double u = 6 / 2.0 * 0.125, v = 4 / 2.0 * 0.125;
  EXPECT_NEAR(scaled[6][4].item<float>(), std::pow(1 + u * u + v * v, 1.5), 1e-5);
}

TEST(Losses, GradientsExistEvenAtZeroResidual) {
  torch::manual_seed(3);
  const auto target = torch::rand({2, 3, 8, 8});
  for (const bool equal : {true, false}) {
    auto prediction = (equal ? target.clone() : torch::rand({2, 3, 8, 8})).requires_grad_(true);
    const auto total = pixel_l1_loss(prediction, target) + pixel_mse_loss(prediction, target) +
                       charbonnier_loss(prediction, target) +
                       sobolev_loss(prediction, target, with(SobolevTransform::kFft, 1.5)) +
                       sobolev_loss(prediction, target, with(SobolevTransform::kDct, 1.5)) +
                       frequency_l1_loss(prediction, target);
    total.backward();
    EXPECT_TRUE(torch::isfinite(prediction.grad()).all().item<bool>()) << "equal " << equal;
  }
}

TEST(Losses, PixelLossesMatchTheirFormulas) {
  const auto p = torch::tensor({0.0, 0.5, 1.0}).view({1, 1, 1, 3});
  const auto t = torch::tensor({0.0, 0.0, 0.0}).view({1, 1, 1, 3});
  EXPECT_NEAR(pixel_l1_loss(p, t).item<double>(), 0.5, 1e-7);
  EXPECT_NEAR(pixel_mse_loss(p, t).item<double>(), (0.25 + 1.0) / 3, 1e-7);
  EXPECT_NEAR(charbonnier_loss(p, t, 0.1).item<double>(),
              (0.1 + std::sqrt(0.26) + std::sqrt(1.01)) / 3, 1e-6);
}

// Two samples by hand, beta_raw 4: sample 0 has policy energies 1 (winner) and 3 (loser) against
// the reference's 2 and 2: inside = -2 ((1 - 3) - (2 - 2)) = 4, loss log(1 + e^-4); sample 1 the
// reverse, inside = -2 ((3 - 1) - 0) = -4, loss log(1 + e^4).
TEST(DpoLoss, EqualsTheHandComputation) {
  auto policy_w = torch::tensor({1.0, 3.0}, torch::kFloat64).requires_grad_();
  auto policy_l = torch::tensor({3.0, 1.0}, torch::kFloat64).requires_grad_();
  const auto reference = torch::tensor({2.0, 2.0}, torch::kFloat64);
  const auto dpo = dpo_loss({policy_w, policy_l, reference, reference}, 4.0);
  const double expected = (std::log1p(std::exp(-4.0)) + std::log1p(std::exp(4.0))) / 2;
  EXPECT_NEAR(dpo.loss.item<double>(), expected, 1e-12);
  EXPECT_NEAR(dpo.margin, 0.0, 1e-12);
  EXPECT_NEAR(dpo.accuracy, 0.5, 1e-12);
  dpo.loss.backward();
  // d loss / d L_policy(w) of sample k = (beta_raw / 2) sigmoid(-inside_k) / N.
  const auto sigmoid = [](double x) { return 1 / (1 + std::exp(-x)); };
  EXPECT_NEAR(policy_w.grad()[0].item<double>(), 2 * sigmoid(-4.0) / 2, 1e-12);
  EXPECT_NEAR(policy_w.grad()[1].item<double>(), 2 * sigmoid(4.0) / 2, 1e-12);
  EXPECT_NEAR(policy_l.grad()[0].item<double>(), -2 * sigmoid(-4.0) / 2, 1e-12);
}

// A policy equal to its reference (a zero-initialised DPO adapter) starts at log 2.
TEST(DpoLoss, APolicyEqualToItsReferenceStartsAtLogTwo) {
  torch::manual_seed(3);
  const auto w = torch::rand({5}), l = torch::rand({5});
  const auto dpo = dpo_loss({w, l, w, l}, 4000.0);
  EXPECT_NEAR(dpo.loss.item<double>(), std::log(2.0), 1e-6);
  EXPECT_EQ(dpo.accuracy, 0.5);
  EXPECT_THROW(dpo_loss({w, l.view({5, 1}), w, l}, 1.0), Error);
}

TEST(AdversarialLoser, TheTrustRegionRunsFromTheWinnerToTheAdversarysEstimate) {
  torch::manual_seed(4);
  const auto winner = torch::rand({2, 3, 4, 4}), target = torch::rand({2, 3, 4, 4});
  const auto noise = torch::randn({2, 3, 4, 4});
  const auto s = torch::tensor({0.3f, 0.8f});
  const auto level = s.view({-1, 1, 1, 1});
  const auto noised = (1 - level) * winner + level * noise;
  EXPECT_TRUE(
      torch::equal(adversarial_loser(winner, noised, s, torch::randn_like(noise), 0.0), winner));
  // An adversary whose velocity at x_s lands on `target` (x_s - s v = target): lambda 1 gives its
  // estimate, lambda 0.1 a tenth of the way from the winner to it.
  const auto velocity = (noised - target) / level;
  EXPECT_TRUE(
      torch::allclose(adversarial_loser(winner, noised, s, velocity, 1.0), target, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(adversarial_loser(winner, noised, s, velocity, 0.1),
                              winner + 0.1 * (target - winner), 1e-5, 1e-6));
}

}  // namespace
}  // namespace srkit
