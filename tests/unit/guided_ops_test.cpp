// Depth RMSE and k-space downsampling against cases worked by hand.
#include <cmath>
#include <limits>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/metrics/depth.h"
#include "srkit/ops/kspace.h"

namespace srkit {
namespace {

TEST(DepthRmse, CropsSixPixelsAndExcludesUnknownReferencePixels) {
  auto reference = torch::full({20, 20}, 10.0f);
  auto estimate = reference.clone();
  estimate.index_put_({torch::indexing::Slice(6, 14), torch::indexing::Slice(6, 14)}, 12.0f);
  estimate[0][0] = 1000;                                      // in the cropped border: ignored
  reference[7][7] = std::numeric_limits<float>::quiet_NaN();  // unknown: excluded and counted
  const auto error = depth_rmse(estimate, reference);
  EXPECT_EQ(error.unknown, 1);
  EXPECT_EQ(error.compared, 8 * 8 - 1);
  EXPECT_NEAR(error.rmse, 2.0, 1e-12);  // every compared pixel is off by 2
}

TEST(KspaceDownsample, KeepsBandLimitedContentAndMeanLevels) {
  // A cosine of 3 cycles per image survives a factor-4 cut of a 64-pixel image (16 samples keep
  // frequencies up to 8 cycles): the result is the same cosine sampled 16 times.
  const auto x = torch::arange(64, torch::kDouble);
  const auto row = 5.0 + torch::cos(2 * M_PI * 3 * x / 64);
  const auto image = row.view({1, 1, 64}).expand({1, 64, 64}).contiguous();
  const auto small = kspace_downsample(image, 4);
  ASSERT_EQ(small.sizes(), torch::IntArrayRef({1, 16, 16}));
  const auto xs = torch::arange(16, torch::kDouble);
  const auto expected =
      (5.0 + torch::cos(2 * M_PI * 3 * xs / 16)).view({1, 1, 16}).expand({1, 16, 16});
  EXPECT_LT((small - expected).abs().max().item<double>(), 1e-12);
  // Frequencies above the kept band vanish.
  const auto fine = torch::cos(2 * M_PI * 20 * x / 64).view({1, 1, 64}).expand({1, 64, 64});
  EXPECT_LT(kspace_downsample(fine.contiguous(), 4).abs().max().item<double>(), 1e-12);
}

}  // namespace
}  // namespace srkit
