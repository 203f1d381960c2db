// Training losses against their definitions: Parseval at s = 0, the Sobolev weights on pure
// frequencies, the authors' half-plane variant, the DCT basis, and gradients that exist.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/ops/dct.h"
#include "srkit/train/losses.h"

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

}  // namespace
}  // namespace srkit
