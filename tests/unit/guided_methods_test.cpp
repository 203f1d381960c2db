// The guided-SR protocol operations, component-substitution pansharpening and the benchmark
// runner against their definitions.
#include <cmath>
#include <limits>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/data/guided_protocol.h"
#include "srkit/engine/guided_benchmark.h"
#include "srkit/ops/component_substitution.h"
#include "srkit/ops/kspace.h"
#include "srkit/ops/resize.h"

namespace srkit {
namespace {

TEST(WaldDecimation, GaussianHasTheRequestedGainAtTheDecimatedNyquist) {
  for (int64_t factor : {2, 4}) {
    for (double gain : {0.3, 0.15}) {
      const auto weights = mtf_decimation_weights(128, factor, gain);
      ASSERT_EQ(weights.sizes(), torch::IntArrayRef({128 / factor, 128}));
      EXPECT_LT((weights.sum(1) - 1).abs().max().item<double>(), 1e-12);
      // An interior row's response to a cosine at the low-resolution grid's Nyquist frequency
      // (1 / (2 factor) cycles per input pixel), measured around the row's centre.
      const int64_t k = 64 / factor;
      const double centre = (k + 0.5) * factor - 0.5;
      const auto j = torch::arange(128, torch::kDouble);
      const double response =
          (weights[k] * torch::cos(M_PI / factor * (j - centre))).sum().item<double>();
      EXPECT_NEAR(response, gain, 0.01 * gain) << "factor " << factor << " gain " << gain;
    }
  }
}

TEST(WaldDecimation, KeepsConstantsAndAlignsWithBicubicDownscaling) {
  const auto flat = torch::full({2, 32, 24}, 0.7);
  EXPECT_LT((mtf_decimate(flat, 4, 0.3) - 0.7).abs().max().item<double>(), 1e-12);
  // A linear ramp keeps its values at the low-resolution pixel centres (same grid as bicubic).
  const auto ramp = torch::arange(32, torch::kDouble).view({1, 32, 1}).expand({1, 32, 32});
  const auto a = mtf_decimate(ramp.contiguous(), 4, 0.3), b = resize_bicubic(ramp, 8, 8);
  EXPECT_LT((a - b).slice(1, 2, 6).abs().max().item<double>(), 1e-9);
  EXPECT_THROW(mtf_decimate(torch::zeros({1, 30, 32}), 4, 0.3), Error);
}

TEST(FillUnknown, KeepsKnownPixelsAndFillsHolesWithinTheKnownRange) {
  auto map = torch::rand({1, 37, 53}, torch::kDouble) * 10 + 5;
  const auto known_values = map.clone();
  const auto nan = std::numeric_limits<double>::quiet_NaN();
  map.slice(1, 10, 30).slice(2, 5, 40).fill_(nan);  // a large hole
  map[0][0][0] = nan;                                // a corner
  const auto filled = fill_unknown(map);
  const auto known = torch::isfinite(map);
  EXPECT_TRUE(torch::isfinite(filled).all().item<bool>());
  EXPECT_TRUE(torch::equal(filled.masked_select(known), map.masked_select(known)));
  EXPECT_GE(filled.min().item<double>(), known_values.masked_select(known).min().item<double>());
  EXPECT_LE(filled.max().item<double>(), known_values.masked_select(known).max().item<double>());
  // A constant map with holes fills with the constant.
  auto constant = torch::full({2, 9, 9}, 3.0);
  constant[1].slice(0, 2, 7).fill_(nan);
  EXPECT_LT((fill_unknown(constant) - 3.0).abs().max().item<double>(), 1e-12);
  EXPECT_THROW(fill_unknown(torch::full({1, 4, 4}, nan)), Error);
}

TEST(GuidedProtocol, EachTaskMakesItsLowResolutionTargetItsOwnWay) {
  const auto hr = torch::rand({1, 32, 32}, torch::kDouble);
  EXPECT_TRUE(torch::allclose(degrade_guided_target(GuidedTask::kDepth, hr, 4),
                              resize_bicubic(hr, 8, 8)));
  EXPECT_TRUE(torch::allclose(degrade_guided_target(GuidedTask::kMri, hr, 4),
                              kspace_downsample(hr, 4)));
  EXPECT_TRUE(torch::allclose(
      degrade_guided_target(GuidedTask::kMri, hr, 4, MriDownsampling::kBicubic),
      resize_bicubic(hr, 8, 8)));
  EXPECT_TRUE(torch::allclose(degrade_guided_target(GuidedTask::kPan, hr, 4),
                              mtf_decimate(hr, 4, kMsNyquistGain)));
  EXPECT_EQ(crop_to_multiple(torch::zeros({3, 217, 181}), 8).sizes(),
            torch::IntArrayRef({3, 216, 176}));
}

TEST(ComponentSubstitution, InjectsThePanDetailAsDefined) {
  auto ms = torch::rand({4, 16, 16}, torch::kDouble) + 0.5;
  const auto intensity = ms.mean(0, true);
  // A pan equal to the intensity changes nothing (its detail is already there).
  EXPECT_LT((brovey_pansharpen(ms, intensity) - ms).abs().max().item<double>(), 1e-12);
  EXPECT_LT((gihs_pansharpen(ms, intensity) - ms).abs().max().item<double>(), 1e-12);
  EXPECT_LT((gram_schmidt_pansharpen(ms, intensity) - ms).abs().max().item<double>(), 1e-12);
  // Otherwise: GIHS replaces the intensity by the matched pan; Brovey scales every band by the
  // same ratio (spectral angle kept); Gram-Schmidt injects with gains cov(ms_b, I) / var(I).
  const auto pan = torch::rand({1, 16, 16}, torch::kDouble) * 3 + 1;
  const auto matched =
      (pan - pan.mean()) * (intensity.std(false) / pan.std(false)) + intensity.mean();
  EXPECT_LT((gihs_pansharpen(ms, pan).mean(0, true) - matched).abs().max().item<double>(), 1e-12);
  const auto ratio = brovey_pansharpen(ms, pan) / ms;
  EXPECT_LT((ratio - ratio[0]).abs().max().item<double>(), 1e-12);
  EXPECT_LT((ratio[0] - matched[0] / intensity[0]).abs().max().item<double>(), 1e-12);
  const auto injected = gram_schmidt_pansharpen(ms, pan) - ms;
  for (int64_t b = 0; b < 4; ++b) {
    const auto cov = ((ms[b] - ms[b].mean()) * (intensity[0] - intensity.mean())).mean();
    const auto gain = cov / (intensity - intensity.mean()).pow(2).mean();
    EXPECT_LT((injected[b] - gain * (matched[0] - intensity[0])).abs().max().item<double>(), 1e-12);
  }
}

TEST(GuidedBenchmark, ScoresEveryScenesAndAveragesPerDataset) {
  std::vector<BenchmarkScene> scenes;
  for (const char* name : {"a/1", "a/2", "b/1"}) {
    scenes.push_back({name, torch::rand({1, 24, 24}) * 100, torch::rand({3, 24, 24})});
  }
  const GuidedUpscaler bicubic = [](const torch::Tensor& lr, const torch::Tensor& guide) {
    return resize_bicubic(lr, guide.size(1), guide.size(2));
  };
  const auto result = run_guided_benchmark(GuidedTask::kDepth, scenes, 4, bicubic);
  ASSERT_EQ(result.scenes.size(), 3u);
  ASSERT_EQ(result.dataset_means.size(), 2u);
  EXPECT_EQ(result.dataset_means[0].name, "mean a");
  const auto& a1 = result.scenes[0].metrics, &a2 = result.scenes[1].metrics;
  const auto& mean_a = result.dataset_means[0].metrics;
  EXPECT_EQ(mean_a[0].first, "rmse");
  EXPECT_DOUBLE_EQ(mean_a[0].second, (a1[0].second + a2[0].second) / 2);
  EXPECT_DOUBLE_EQ(mean_a[1].second, a1[1].second + a2[1].second);  // compared pixels: summed
  EXPECT_EQ(a1[1].second, 12 * 12);                                  // 24 - 2 * 6 per side
  EXPECT_GT(a1[0].second, 0);
}

}  // namespace
}  // namespace srkit
