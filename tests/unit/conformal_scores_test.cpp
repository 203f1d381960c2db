// Uncertainty scores, fidelity maps, test-time augmentation and the calibration file: each fast or
// streamed form against its obvious definition.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/conformal/calibration_file.h"
#include "srkit/conformal/confidence.h"
#include "srkit/core/error.h"
#include "srkit/ops/color.h"
#include "srkit/ops/filters.h"
#include "support/temp_dir.h"

namespace srkit::conformal {
namespace {

torch::Tensor random_image(int64_t c, int64_t h, int64_t w, int seed) {
  torch::manual_seed(seed);
  return torch::rand({c, h, w});
}

// The box mean by its definition: every window, pixels inside the image only.
torch::Tensor naive_box_mean(const torch::Tensor& plane, int64_t k) {
  const int64_t h = plane.size(0), w = plane.size(1), r = k / 2;
  auto out = torch::zeros_like(plane);
  auto a = plane.accessor<double, 2>();
  auto o = out.accessor<double, 2>();
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      double sum = 0;
      int count = 0;
      for (int64_t dy = -r; dy <= r; ++dy) {
        for (int64_t dx = -r; dx <= r; ++dx) {
          if (y + dy < 0 || y + dy >= h || x + dx < 0 || x + dx >= w) continue;
          sum += a[y + dy][x + dx];
          ++count;
        }
      }
      o[y][x] = sum / count;
    }
  }
  return out;
}

TEST(Filters, BoxMeanEqualsItsDefinitionAtTheBorders) {
  const auto plane = random_image(1, 13, 17, 1)[0].to(torch::kFloat64);
  for (const int64_t k : {1, 3, 5, 9}) {
    EXPECT_TRUE(torch::allclose(box_mean(plane, k), naive_box_mean(plane, k), 1e-12, 1e-12))
        << "kernel " << k;
  }
}

TEST(Filters, GaussianBlurKeepsConstantsAndMeans) {
  const auto constant = torch::full({20, 30}, 0.7, torch::kFloat64);
  EXPECT_TRUE(torch::allclose(gaussian_blur(constant, 5.0), constant, 1e-12, 1e-12));
  const auto image = random_image(1, 64, 64, 2)[0].to(torch::kFloat64);
  const auto blurred = gaussian_blur(image, 2.0);
  EXPECT_LT(blurred.std().item<double>(), image.std().item<double>() / 2);
  EXPECT_NEAR(blurred.mean().item<double>(), image.mean().item<double>(), 0.01);
}

TEST(Filters, QuantileInterpolatesLikeNumpy) {
  const auto v = torch::tensor({4.0, 1.0, 3.0, 2.0, 10.0});
  EXPECT_DOUBLE_EQ(quantile_value(v, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(quantile_value(v, 1.0), 10.0);
  EXPECT_DOUBLE_EQ(quantile_value(v, 0.5), 3.0);
  EXPECT_DOUBLE_EQ(quantile_value(v, 0.9), 4.0 + 0.6 * 6.0);  // position 3.6 between 4 and 10
}

// skimage.color.rgb2lab of these colours (tests/reference/lab_reference.py).
TEST(Color, LabMatchesSkimage) {
  const auto rgb =
      torch::tensor({0.0, 1.0, 1.0, 0.2, 0.9, 0.0, 1.0, 0.0, 0.5, 0.7, 0.0, 1.0, 0.0, 0.8, 0.1},
                    torch::kFloat64)
          .view({3, 1, 5});
  const auto lab = rgb_to_lab(rgb);
  const double expected[5][3] = {{0.0, 0.0, 0.0},
                                 {100.0, -0.0024549379, 0.0046534212},
                                 {53.2405879437, 80.0923082257, 67.2027510444},
                                 {52.252060579, 2.7760227273, -46.2857138568},
                                 {75.362059522, 6.2336250991, 74.4062922509}};
  for (int p = 0; p < 5; ++p) {
    for (int c = 0; c < 3; ++c) {
      EXPECT_NEAR(lab[c][0][p].item<double>(), expected[p][c], 1e-6) << "pixel " << p;
    }
  }
}

TEST(PatchVariance, KernelOneIsThePerPixelVarianceAcrossSamples) {
  const auto samples = torch::rand({5, 3, 8, 9}, torch::kFloat64);
  ScoreOptions options;
  options.space = ColourSpace::kRgb;
  options.kernel = 1;
  PatchVariance variance(options);
  for (int m = 0; m < 5; ++m) variance.add(samples[m]);
  const auto expected = samples.var(0, /*unbiased=*/false).mean(0).to(torch::kFloat);
  EXPECT_TRUE(torch::allclose(variance.raw(), expected, 1e-5, 1e-7));
}

// sigma^K = mean within-patch variance + across-sample variance of the local means, per channel.
TEST(PatchVariance, EqualsWithinPatchPlusAcrossSampleVariance) {
  torch::manual_seed(4);
  const auto samples = torch::rand({6, 3, 16, 12}, torch::kFloat64);
  for (const auto space : {ColourSpace::kRgb, ColourSpace::kUnitLab}) {
    ScoreOptions options;
    options.space = space;
    options.kernel = 5;
    PatchVariance variance(options);
    std::vector<torch::Tensor> planes;
    for (int m = 0; m < 6; ++m) {
      variance.add(samples[m]);
      planes.push_back(colour_planes(samples[m], space).to(torch::kFloat64));
    }
    torch::Tensor within = torch::zeros({3, 16, 12}, torch::kFloat64);
    std::vector<torch::Tensor> local_means;
    for (const auto& p : planes) {
      torch::Tensor mean = torch::empty_like(p), square = torch::empty_like(p);
      for (int c = 0; c < 3; ++c) {
        mean[c] = naive_box_mean(p[c], 5);
        square[c] = naive_box_mean(p[c].square(), 5);
      }
      within += (square - mean.square()) / 6.0;
      local_means.push_back(mean);
    }
    const auto across = torch::stack(local_means).var(0, /*unbiased=*/false);
    const auto expected = (within + across).mean(0).to(torch::kFloat);
    const auto raw = variance.raw();
    EXPECT_TRUE(torch::allclose(raw, expected, 1e-5, 1e-8)) << to_string(space);
    EXPECT_GE(raw.min().item<float>(), 0.0F);
    EXPECT_GT(torch::stack(local_means).var(0).max().item<double>(), 0.0);  // both terms matter
  }
}

TEST(PatchVariance, ClippingAndSmoothingFollowTheOptions) {
  const auto samples = torch::rand({4, 3, 32, 32});
  ScoreOptions options;
  options.clip_quantile = 0.9;
  PatchVariance variance(options);
  for (int m = 0; m < 4; ++m) variance.add(samples[m]);
  const auto raw = variance.raw();
  EXPECT_FLOAT_EQ(variance.score().max().item<float>(),
                  static_cast<float>(quantile_value(raw, 0.9)));
  options.blur_sigma = 3;
  PatchVariance smooth(options);
  for (int m = 0; m < 4; ++m) smooth.add(samples[m]);
  EXPECT_LT(smooth.score().std().item<float>(), variance.score().std().item<float>());
}

TEST(Fidelity, MapsStayWithinZeroToThree) {
  for (int seed = 0; seed < 20; ++seed) {
    auto a = random_image(3, 24, 24, seed), b = random_image(3, 24, 24, seed + 100);
    if (seed % 2 == 0) a = (a > 0.5).to(torch::kFloat), b = 1 - a;  // extreme colours
    for (const auto metric : {FidelityMetric::kLabPointwise, FidelityMetric::kLabNeighbourhood,
                              FidelityMetric::kRgbPointwise}) {
      FidelityOptions options;
      options.metric = metric;
      const auto d = fidelity_map(a, b, options);
      EXPECT_GE(d.min().item<float>(), 0.0F);
      EXPECT_LE(d.max().item<float>(), 3.0F);
    }
  }
  const auto white = torch::ones({3, 4, 4}), black = torch::zeros({3, 4, 4});
  EXPECT_NEAR(fidelity_map(white, black, {}).max().item<float>(), 1.0, 1e-4);  // L, almost only
}

// Proposition 3.1's premise: pointwise RGB error bounds every channel's error, so the PSNR over any
// mask is at least -20 log10 of the worst error inside it.
TEST(Fidelity, RgbErrorBoundsThePsnrInsideAnyMask) {
  FidelityOptions options;
  options.metric = FidelityMetric::kRgbPointwise;
  ASSERT_TRUE(bounds_psnr(options));
  for (int seed = 0; seed < 20; ++seed) {
    const auto truth = random_image(3, 16, 16, seed);
    const auto prediction = (truth + 0.1 * random_image(3, 16, 16, seed + 50) - 0.05).clamp(0, 1);
    const auto d = fidelity_map(truth, prediction, options);
    EXPECT_TRUE(torch::all(d >= (truth - prediction).abs().amax(0) - 1e-6).item<bool>());
    const auto mask = random_image(1, 16, 16, seed + 7)[0] < 0.5;
    const double mse =
        (truth - prediction).square().sum(0).masked_select(mask).mean().item<double>() / 3;
    const double worst = worst_error_in_mask(d, mask);
    EXPECT_GE(-10 * std::log10(mse), -20 * std::log10(worst) - 1e-6);
  }
}

// A nearest-neighbour x2 upscaler commutes with flips and rotations, so every augmented output
// mapped back equals the plain one exactly.
TEST(TestTimeAugmentation, DihedralSamplesMapBackExactly) {
  const auto image = random_image(3, 7, 10, 3);
  const auto nearest = [](const torch::Tensor& x) {
    return x.repeat_interleave(2, 1).repeat_interleave(2, 2);
  };
  const auto augmentations = ensemble_augmentations({});
  ASSERT_EQ(augmentations.size(), 8U);
  for (const auto& a : augmentations) {
    EXPECT_TRUE(torch::equal(restore(a, nearest(augment(a, image)), 2.0), nearest(image)))
        << "dihedral " << a.dihedral;
  }
}

TEST(TestTimeAugmentation, SubPixelShiftsAreUndoneOnSmoothImages) {
  const auto ramp = torch::linspace(0.2, 0.8, 40).view({1, 1, 40}).expand({3, 40, 40}).contiguous();
  EnsembleOptions options;
  options.samples = 12;
  options.shift = 0.5;
  const auto identity = [](const torch::Tensor& x) { return x; };
  for (const auto& a : ensemble_augmentations(options)) {
    const auto back = restore(a, identity(augment(a, ramp)), 1.0);
    const auto inner = [](const torch::Tensor& t) { return t.slice(1, 4, 36).slice(2, 4, 36); };
    EXPECT_LT((inner(back) - inner(ramp)).abs().max().item<float>(), 1e-4);
  }
}

TEST(TestTimeAugmentation, RefusesRepeatedSamples) {
  EnsembleOptions options;
  options.samples = 9;
  EXPECT_THROW(ensemble_augmentations(options), Error);
  options.noise = 0.01;
  EXPECT_EQ(ensemble_augmentations(options).size(), 9U);
}

// A generative model's score: the prediction is the sample of the delivered seed, sample k is drawn
// with seed + k, and the variance is the one of those samples; a plain upscaler cannot give it.
TEST(PredictWithScore, SeededSettingsScoreTheSamplesOfConsecutiveSeeds) {
  const auto lr = random_image(3, 6, 5, 4);
  const auto sampler = [](const torch::Tensor& x, uint64_t seed) {
    return x.repeat_interleave(2, 1).repeat_interleave(2, 2) + 0.01 * static_cast<double>(seed);
  };
  ConfidenceSettings settings;
  settings.ensemble.samples = 4;
  settings.ensemble.seeded = true;
  settings.ensemble.transforms = false;
  settings.score.space = ColourSpace::kRgb;
  settings.score.kernel = 1;
  const auto scored = predict_with_score(sampler, 5, lr, 2.0, settings);
  EXPECT_TRUE(torch::allclose(scored.prediction, sampler(lr, 5)));
  std::vector<torch::Tensor> samples;
  for (uint64_t seed = 5; seed < 9; ++seed) samples.push_back(sampler(lr, seed));
  PatchVariance expected(settings.score);
  for (const auto& sample : samples) expected.add(sample);
  EXPECT_TRUE(torch::allclose(scored.score, expected.score()));
  EXPECT_GT(scored.score.min().item<double>(), 0);  // the seeds' samples differ everywhere

  const UpscaleFn plain = [&](const torch::Tensor& x) { return sampler(x, 0); };
  try {
    predict_with_score(plain, lr, 2.0, settings);
    FAIL() << "seeded settings scored a plain upscaler";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage) << e.what();
  }
}

// A local upscaler: nearest x2, then a 3x3 mean with the edges extended. Its receptive radius is
// one input pixel.
torch::Tensor local_upscaler(const torch::Tensor& lr) {
  namespace F = torch::nn::functional;
  const auto up = lr.repeat_interleave(2, 1).repeat_interleave(2, 2).unsqueeze(0);
  const auto padded = F::pad(up, F::PadFuncOptions({1, 1, 1, 1}).mode(torch::kReplicate));
  return F::avg_pool2d(padded, F::AvgPool2dFuncOptions(3).stride(1)).squeeze(0);
}

// predict_with_score_in_bands' bands stacked into one image, checking their order on the way.
ScoredPrediction stacked_bands(const torch::Tensor& lr, const ConfidenceSettings& settings,
                               const ScoringWindows& windows) {
  int64_t last_from = 0, next_row = 0;
  std::vector<torch::Tensor> predictions, scores;
  const InputRowsFn rows = [&](int64_t from, int64_t to) {
    EXPECT_GE(from, last_from) << "the rows read never move up";
    last_from = from;
    return lr.slice(1, from, to);
  };
  const ScoredRowsFn sink = [&](const torch::Tensor& prediction, const torch::Tensor& score,
                                int64_t first_row) {
    EXPECT_EQ(first_row, next_row) << "bands come top to bottom, every row once";
    EXPECT_EQ(prediction.size(1), score.size(0));
    next_row += score.size(0);
    predictions.push_back(prediction.clone());
    scores.push_back(score.clone());
  };
  predict_with_score_in_bands(local_upscaler, lr.size(1), lr.size(2), rows, 2.0, settings, windows,
                              sink);
  return {torch::cat(predictions, 1), torch::cat(scores, 0)};
}

TEST(ScoringInWindows, EqualsTheWholeImagesScore) {
  const auto lr = random_image(3, 41, 57, 11);
  ConfidenceSettings settings;
  settings.ensemble.shift = 0.4;  // bicubic shifts reach beyond a window's edge
  settings.score.kernel = 5;
  settings.score.blur_sigma = 1.5;
  const auto whole = predict_with_score(local_upscaler, lr, 2.0, settings);

  const auto one = stacked_bands(lr, settings, {0, 1});
  EXPECT_TRUE(torch::equal(one.prediction, whole.prediction)) << "one window is the image";
  EXPECT_TRUE(torch::equal(one.score, whole.score));

  const auto windowed = stacked_bands(lr, settings, {13, 1});  // 4 x 5 windows, uneven edges
  ASSERT_EQ(windowed.prediction.sizes(), whole.prediction.sizes());
  ASSERT_EQ(windowed.score.sizes(), whole.score.sizes());
  // The shifts are resampled on each window's grid: the same up to float rounding.
  EXPECT_LT((windowed.prediction - whole.prediction).abs().max().item<double>(), 1e-5);
  EXPECT_LT((windowed.score - whole.score).abs().max().item<double>(),
            1e-4 * whole.score.max().item<double>());

  // Without the upscaler's own context the windows' edges show: the check above can fail.
  const auto cut_short = stacked_bands(lr, settings, {13, -score_context(settings, 2.0)});
  EXPECT_GT((cut_short.score - whole.score).abs().max().item<double>(),
            1e-2 * whole.score.max().item<double>());
}

TEST(ScoringInWindows, RefusesScoresOfTheWholeImage) {
  const auto lr = random_image(3, 8, 8, 1);
  const InputRowsFn rows = [&](int64_t from, int64_t to) { return lr.slice(1, from, to); };
  const ScoredRowsFn sink = [](const torch::Tensor&, const torch::Tensor&, int64_t) {};
  ConfidenceSettings noisy;
  noisy.ensemble.noise = 0.01;
  ConfidenceSettings clipped;
  clipped.score.clip_quantile = 0.99;
  for (const auto& settings : {noisy, clipped}) {
    EXPECT_FALSE(scores_locally(settings));
    EXPECT_THROW(
        predict_with_score_in_bands(local_upscaler, 8, 8, rows, 2.0, settings, {4, 1}, sink),
        Error);
  }
  EXPECT_THROW(predict_with_score_in_bands(local_upscaler, 8, 8, rows, 2.5, ConfidenceSettings{},
                                           {4, 1}, sink),
               Error);
}

TEST(CalibrationFile, RoundTripsExactlyAndRefusesAnotherModel) {
  Calibration c;
  c.model = {{"name", "esrgan-slim"}, {"scale", 4}, {"sha256", {{"a.bin", "00ff"}}}};
  c.scale = 4;
  c.settings.score.kernel = 7;
  c.settings.fidelity.metric = FidelityMetric::kRgbPointwise;
  c.data = {{"crop", 96}};
  c.curve = {2, {0.1F, 0.3333333F, 1e-7F}, {5, 6000000000ULL, 9000000000ULL}};
  c.alphas = {0.05, 2.0, 3.5};
  for (const double a : c.alphas) c.thresholds.push_back(threshold(c, a));
  const testing::TempDir dir;
  const auto path = dir / "calibration.json";
  save_calibration(path, c);
  const auto back = load_calibration(path);
  EXPECT_EQ(back.curve.scores, c.curve.scores);
  EXPECT_EQ(back.curve.sums, c.curve.sums);
  EXPECT_EQ(back.thresholds, c.thresholds);
  EXPECT_EQ(back.settings.score.kernel, 7);
  EXPECT_EQ(back.settings.fidelity.metric, FidelityMetric::kRgbPointwise);
  EXPECT_NO_THROW(check_same_model(back, path, c.model, 4));
  auto other = c.model;
  other["sha256"]["a.bin"] = "0000";
  EXPECT_THROW(check_same_model(back, path, other, 4), Error);
  EXPECT_THROW(check_same_model(back, path, c.model, 2), Error);
  std::ofstream(path) << "{\"format\": \"something else\"}";
  EXPECT_THROW(load_calibration(path), Error);
}

}  // namespace
}  // namespace srkit::conformal
