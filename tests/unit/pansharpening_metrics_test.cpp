// Pansharpening indices against their definitions and simple cases worked by hand.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/metrics/pansharpening.h"

namespace srkit {
namespace {

torch::Tensor random_image(int64_t bands, int64_t size, uint64_t seed) {
  torch::manual_seed(seed);
  return torch::rand({bands, size, size}, torch::kDouble) * 200 + 20;
}

TEST(Hypercomplex, IsComplexMultiplicationForTwoComponentsAndNormMultiplicativeUpToEight) {
  torch::manual_seed(4);
  const auto a = torch::randn({2, 10}, torch::kDouble), b = torch::randn({2, 10}, torch::kDouble);
  const auto product = hypercomplex_multiply(a, b);
  const auto expected = torch::view_as_real(torch::view_as_complex(a.t().contiguous()) *
                                            torch::view_as_complex(b.t().contiguous()))
                            .t();
  EXPECT_LT((product - expected).abs().max().item<double>(), 1e-12);
  for (int64_t n : {4, 8}) {  // quaternions and octonions are composition algebras
    const auto x = torch::randn({n, 20}, torch::kDouble), y = torch::randn({n, 20}, torch::kDouble);
    const auto xy = hypercomplex_multiply(x, y);
    EXPECT_LT((xy.norm(2, 0) - x.norm(2, 0) * y.norm(2, 0)).abs().max().item<double>(), 1e-10);
    const auto left = hypercomplex_conjugate(xy);
    const auto right = hypercomplex_multiply(hypercomplex_conjugate(y), hypercomplex_conjugate(x));
    EXPECT_LT((left - right).abs().max().item<double>(), 1e-10);
  }
}

// Wang and Bovik's universal quality index of one band, the slow way.
double universal_quality_index(const torch::Tensor& x, const torch::Tensor& y) {
  const double mx = x.mean().item<double>(), my = y.mean().item<double>();
  const double n = static_cast<double>(x.numel());
  const double vx = (x - mx).pow(2).sum().item<double>() / (n - 1);
  const double vy = (y - my).pow(2).sum().item<double>() / (n - 1);
  const double cxy = ((x - mx) * (y - my)).sum().item<double>() / (n - 1);
  return 4 * cxy * mx * my / ((vx + vy) * (mx * mx + my * my));
}

TEST(Q2n, IsOneForIdenticalImagesAndTheUniversalQualityIndexForOneBand) {
  const auto reference = random_image(4, 64, 1);
  EXPECT_NEAR(q2n(reference, reference), 1.0, 1e-12);
  const auto noisy = reference + torch::randn_like(reference) * 20;
  EXPECT_LT(q2n(noisy, reference), 0.99);

  const auto x = random_image(1, 64, 2), y = x * 0.8 + random_image(1, 64, 3) * 0.3;
  double expected = 0;
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 2; ++c) {
      const auto tile = [&](const torch::Tensor& t) {
        return t[0].slice(0, 32 * r, 32 * r + 32).slice(1, 32 * c, 32 * c + 32);
      };
      expected += universal_quality_index(tile(y), tile(x)) / 4;  // covariance is symmetric
    }
  // Q2n takes the modulus of the covariance: it equals the index where, as here, that is positive.
  EXPECT_GT(expected, 0);
  EXPECT_NEAR(q2n(y, x), expected, 1e-10);
}

TEST(Q2n, TwoBandsMatchTheComplexFormula) {
  const auto reference = random_image(2, 32, 5), fused = random_image(2, 32, 6) + reference;
  const auto z1 = torch::complex(reference[0], reference[1]).flatten();
  const auto z2 = torch::complex(fused[0], fused[1]).flatten();
  const double n = 32 * 32;
  const auto m1 = z1.mean(), m2 = z2.mean();
  const double v1 = (z1 - m1).abs().pow(2).sum().item<double>() / (n - 1);
  const double v2 = (z2 - m2).abs().pow(2).sum().item<double>() / (n - 1);
  const double cov = ((z1 - m1) * (z2 - m2).conj()).sum().abs().item<double>() / (n - 1);
  const double a1 = m1.abs().item<double>(), a2 = m2.abs().item<double>();
  EXPECT_NEAR(q2n(fused, reference), 4 * cov * a1 * a2 / ((v1 + v2) * (a1 * a1 + a2 * a2)), 1e-10);
}

TEST(SpectralAngle, MeasuresAnglesNotMagnitudes) {
  auto reference = torch::zeros({2, 4, 4}, torch::kDouble);
  reference[0].fill_(1);
  auto fused = reference.clone();
  EXPECT_NEAR(sam_degrees(fused * 3, reference), 0.0, 1e-6);
  fused[1].fill_(1);  // (1, 1) against (1, 0): 45 degrees everywhere
  EXPECT_NEAR(sam_degrees(fused, reference), 45.0, 1e-9);
}

TEST(Ergas, FollowsItsFormula) {
  const auto reference = random_image(3, 16, 7);
  EXPECT_DOUBLE_EQ(ergas(reference, reference, 4), 0.0);
  // An error of 10 % of each band's mean in every pixel: (100 / 4) * 0.1 = 2.5.
  const auto means = reference.mean({1, 2}, true);
  EXPECT_NEAR(ergas(reference + 0.1 * means, reference, 4), 2.5, 1e-12);
}

TEST(SpatialCorrelation, IsOneForAffineCopiesAndLowerForBlur) {
  const auto reference = random_image(3, 32, 8);
  EXPECT_NEAR(scc(reference * 2 + 5, reference), 1.0, 1e-12);
  const auto blurred = torch::avg_pool2d(reference.unsqueeze(0), 3, 1, 1).squeeze(0);
  EXPECT_LT(scc(blurred, reference), 0.9);
}

}  // namespace
}  // namespace srkit
