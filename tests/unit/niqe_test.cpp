// NIQE's estimators against distributions whose parameters are known, its features and score on
// synthetic textures, and its model file. Its
// behaviour on real photos (blur, noise and JPEG make it worse) is in
// tests/integration/no_reference_test.cpp.
#include <cmath>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/metrics/niqe.h"
#include "support/temp_dir.h"

namespace srkit {
namespace {

// Samples of a generalised Gaussian with shape a and scales bl (left) and br (right), [rows, n]:
// |x| = b * G^(1/a) with G ~ Gamma(1/a), the side drawn with probability proportional to its scale.
torch::Tensor aggd_samples(double a, double bl, double br, int64_t rows, int64_t n) {
  const auto g = torch::_standard_gamma(torch::full({rows, n}, 1.0 / a, torch::kFloat64));
  const auto magnitude = g.pow(1.0 / a);
  const auto left = torch::rand({rows, n}, torch::kFloat64) < bl / (bl + br);
  return torch::where(left, -bl * magnitude, br * magnitude);
}

double gamma(double x) { return std::tgamma(x); }

TEST(Niqe, GeneralisedGaussianFitsRecoverShapeAndVariance) {
  torch::manual_seed(1);
  for (const double a : {0.6, 1.0, 2.0, 3.0}) {
    const auto fit = fit_ggd(aggd_samples(a, 1.5, 1.5, 4, 200000));
    const double variance = 1.5 * 1.5 * gamma(3 / a) / gamma(1 / a);
    for (int64_t row = 0; row < 4; ++row) {
      EXPECT_NEAR(fit[row][0].item<double>(), a, 0.05 * a) << "shape " << a;
      EXPECT_NEAR(fit[row][1].item<double>(), variance, 0.03 * variance) << "shape " << a;
    }
  }
}

TEST(Niqe, AsymmetricFitsRecoverShapeMeanAndSideVariances) {
  torch::manual_seed(2);
  for (const double a : {0.8, 1.5, 2.5}) {
    const double bl = 0.5, br = 1.2;
    const auto fit = fit_aggd(aggd_samples(a, bl, br, 2, 400000));
    const double moment = gamma(3 / a) / gamma(1 / a);
    const double mean = (br - bl) * gamma(2 / a) / gamma(1 / a);
    for (int64_t row = 0; row < 2; ++row) {
      EXPECT_NEAR(fit[row][0].item<double>(), a, 0.05 * a) << "shape " << a;
      EXPECT_NEAR(fit[row][1].item<double>(), mean, 0.03 * std::abs(mean)) << "shape " << a;
      EXPECT_NEAR(fit[row][2].item<double>(), bl * bl * moment, 0.03 * bl * bl * moment);
      EXPECT_NEAR(fit[row][3].item<double>(), br * br * moment, 0.03 * br * br * moment);
    }
  }
}

TEST(Niqe, LaplacianNoiseHasAHeavierTailThanGaussian) {
  // Local normalisation keeps the ordering of tails: Laplacian pixels give a smaller GGD shape.
  torch::manual_seed(2);
  const auto uniform = torch::rand({384, 384}, torch::kFloat64) - 0.5;
  const auto laplace = -uniform.sign() * torch::log1p(-2.0 * uniform.abs());
  const auto gaussian =
      niqe_patch_features(128.0 + 14.0 * torch::randn({384, 384}, torch::kFloat64), {}, false);
  const auto heavy = niqe_patch_features(128.0 + 10.0 * laplace, {}, false);
  ASSERT_EQ(gaussian.size(0), 16);  // 4 x 4 patches of 96 x 96, 36 features each
  ASSERT_EQ(gaussian.size(1), 36);
  EXPECT_LT(heavy.select(1, 0).mean().item<double>(),
            gaussian.select(1, 0).mean().item<double>() - 0.3);
}

TEST(Niqe, AnImageIsCloserToAModelOfItsOwnKindThanToAnother) {
  const auto smooth = [](int64_t seed) {
    torch::manual_seed(seed);
    auto x = torch::randn({1, 1, 960, 960}, torch::kFloat64);
    x = torch::avg_pool2d(x, 5, 1, 2);  // correlated texture
    return (0.5 + 0.5 * x / x.abs().max()).view({1, 960, 960});
  };
  const auto noise = [](int64_t seed) {
    torch::manual_seed(seed);
    return torch::rand({1, 960, 960}, torch::kFloat64);
  };
  NiqeOptions options;
  options.fit_max_short_side = 0;
  const auto smooth_model = fit_niqe({smooth(10), smooth(11)}, "smooth", options);
  const auto noise_model = fit_niqe({noise(20), noise(21)}, "noise", options);
  EXPECT_LT(niqe(smooth(12), smooth_model), niqe(smooth(12), noise_model));
  EXPECT_LT(niqe(noise(22), noise_model), niqe(noise(22), smooth_model));
}

TEST(Niqe, TooSmallOrFlatImagesAreInputErrorsNamingTheImage) {
  NiqeOptions options;
  options.fit_max_short_side = 0;
  const auto model = fit_niqe({torch::rand({1, 960, 960}, torch::kFloat64)}, "noise", options);
  try {
    niqe(torch::rand({3, 100, 150}), model, "small.png");
    FAIL() << "a 150x100 image has one patch";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInput);
    EXPECT_NE(std::string(e.what()).find("small.png: is 150x100"), std::string::npos) << e.what();
  }
  EXPECT_THROW(niqe(torch::full({1, 300, 300}, 0.5), model, "flat.png"), Error);
  EXPECT_THROW(fit_niqe({torch::full({1, 960, 960}, 0.5)}, "flat", options), Error);
}

TEST(Niqe, ModelFileRoundTripsExactly) {
  testing::TempDir dir;
  NiqeOptions options;
  options.fit_max_short_side = 0;
  const auto model = fit_niqe({torch::rand({3, 960, 960}, torch::kFloat64)}, "random", options);
  write_niqe_model(dir / "model.json", model);
  const auto back = read_niqe_model(dir / "model.json");
  EXPECT_TRUE(torch::equal(back.mean, model.mean));
  EXPECT_TRUE(torch::equal(back.covariance, model.covariance));
  EXPECT_EQ(back.patches, model.patches);
  EXPECT_EQ(back.description, "random");
}

TEST(Niqe, ABadModelFileIsASetupErrorNamingIt) {
  testing::TempDir dir;
  std::ofstream(dir / "bad.json") << "{\"mean\": [1, 2, 3], \"covariance\": []}";
  for (const auto& file : {dir / "bad.json", dir / "missing.json"}) {
    try {
      read_niqe_model(file);
      FAIL() << file;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kSetup);
      EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace srkit
