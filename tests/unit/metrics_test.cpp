// Metrics against closed-form values (the formulas of ../shared/research/methods.md section 5).
// Real-photo values against scikit-image are in tests/integration/metrics_reference_test.cpp.
#include <cmath>
#include <limits>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/metrics/metric.h"

namespace srkit {
namespace {

TEST(Psnr, IdenticalImagesAreInfinite) {
  const auto image = torch::rand({3, 40, 50});
  EXPECT_EQ(psnr(image, image, {}), std::numeric_limits<double>::infinity());
}

TEST(Psnr, KnownOffsetOnGray) {
  // Gray planes are compared on 0..255: an offset of 10 grey levels gives MSE 100.
  const auto a = torch::full({1, 32, 32}, 0.5);
  const auto b = a + 10.0 / 255.0;
  EXPECT_NEAR(psnr(a, b, {}), 10 * std::log10(255.0 * 255.0 / 100.0), 1e-6);
}

TEST(Psnr, RgbOffsetGoesThroughBt601Y) {
  // Adding d to R, G and B moves Y by (65.481 + 128.553 + 24.966) d = 219 d.
  const auto a = torch::full({3, 16, 16}, 0.25, torch::kFloat64);
  const auto b = a + 2.0 / 219.0;  // Y moves by exactly 2
  EXPECT_NEAR(psnr(a, b, {}), 10 * std::log10(255.0 * 255.0 / 4.0), 1e-6);
  MetricOptions rgb;
  rgb.y_channel = false;  // every channel moves by 255 * 2/219
  const double d = 255.0 * 2.0 / 219.0;
  EXPECT_NEAR(psnr(a, b, rgb), 10 * std::log10(255.0 * 255.0 / (d * d)), 1e-6);
}

TEST(Psnr, BorderCropIgnoresTheBorder) {
  const auto a = torch::rand({3, 30, 30});
  auto b = a.clone();
  b.slice(1, 0, 4).fill_(0);  // damage only the top 4 rows
  MetricOptions crop4;
  crop4.crop_border = 4;
  EXPECT_TRUE(std::isinf(psnr(a, b, crop4)));
  crop4.crop_border = 3;
  EXPECT_TRUE(std::isfinite(psnr(a, b, crop4)));
}

TEST(Ssim, ImageWithItselfIsOne) {
  const auto image = torch::rand({3, 64, 48});
  EXPECT_NEAR(ssim(image, image, {}), 1.0, 1e-12);
}

TEST(Ssim, ConstantImagesFollowTheLuminanceTerm) {
  // With no variance SSIM is (2ab + C1) / (a^2 + b^2 + C1).
  const double a = 100, b = 140, c1 = (0.01 * 255) * (0.01 * 255);
  const auto x = torch::full({1, 20, 20}, a / 255.0, torch::kFloat64);
  const auto y = torch::full({1, 20, 20}, b / 255.0, torch::kFloat64);
  EXPECT_NEAR(ssim(x, y, {}), (2 * a * b + c1) / (a * a + b * b + c1), 1e-9);
  EXPECT_EQ(ssim_map(x, y, {}).sizes(), torch::IntArrayRef({1, 10, 10}));  // valid filtering
}

TEST(Lsd, IdenticalIsZeroAndAGainIsItsDecibels) {
  const auto image = torch::rand({1, 32, 32}) * 0.5 + 0.25;
  EXPECT_NEAR(lsd(image, image, {}), 0.0, 1e-12);
  // Scaling a plane by k scales every |FFT|^2 by k^2: 20 log10 k dB at every frequency (the 1e-8
  // floor is negligible against this image's spectrum).
  EXPECT_NEAR(lsd(image * 0.5, image, {}), 20 * std::log10(2.0), 1e-3);
}

TEST(Metrics, RejectMismatchedSizes) {
  EXPECT_THROW(psnr(torch::rand({3, 10, 10}), torch::rand({3, 10, 11}), {}), c10::Error);
}

TEST(Metrics, PsnrInMaskIsThePsnrOfTheMaskedPixels) {
  torch::manual_seed(9);
  const auto a = torch::rand({3, 12, 10}), b = torch::rand({3, 12, 10});
  const auto all = torch::ones({12, 10}, torch::kBool);
  EXPECT_NEAR(psnr_in_mask(a, b, all), psnr(a, b, {0, false}), 1e-9);
  const auto half = torch::arange(12).view({12, 1}).expand({12, 10}) < 6;
  EXPECT_NEAR(psnr_in_mask(a, b, half), psnr(a.slice(1, 0, 6), b.slice(1, 0, 6), {0, false}), 1e-9);
  EXPECT_TRUE(std::isnan(psnr_in_mask(a, b, ~all)));
  EXPECT_TRUE(std::isinf(psnr_in_mask(a, a, half)));
}

}  // namespace
}  // namespace srkit
