// The Real-ESRGAN degradation pipeline on a real photo: reproducible, the right size, 8-bit, and
// damaged but still the same picture; and its inspection view in the CLI.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "srkit/data/realesrgan_degradation.h"
#include "srkit/io/image_io.h"
#include "srkit/metrics/metric.h"
#include "srkit/ops/resize.h"
#include "test_data.h"

namespace srkit {
namespace {

TEST(RealEsrganDegradation, ReproducibleSizedAndStillThePicture) {
  const auto hr = read_image(testing::data_path("samples/butterfly.png")).pixels;
  const auto bicubic = resize_bicubic(hr, 0.25).clamp(0, 1);
  const RealEsrganSettings standard;
  double psnr_sum = 0;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    nlohmann::json record;
    const auto lr = realesrgan_degrade(hr, 4, seed, standard, &record);
    ASSERT_EQ(lr.sizes(), torch::IntArrayRef({3, 64, 64}));
    EXPECT_TRUE(torch::equal(lr, realesrgan_degrade(hr, 4, seed))) << "seed " << seed;
    EXPECT_TRUE(torch::equal(lr, (lr * 255).round() / 255)) << "8-bit values";
    EXPECT_GE(record["steps"].size(), 7U);
    const double db = psnr(lr, bicubic, {0, false});
    EXPECT_GT(db, 14.0) << "seed " << seed << ": still the same picture";
    psnr_sum += db;
  }
  EXPECT_LT(psnr_sum / 8, 30.0) << "the pipeline damages the image beyond bicubic";
  EXPECT_FALSE(torch::equal(realesrgan_degrade(hr, 4, 1), realesrgan_degrade(hr, 4, 2)));
}

TEST(RealEsrganDegradation, JpegRoundTripLosesLittleAtHighQuality) {
  const auto hr = read_image(testing::data_path("samples/butterfly.png")).pixels;
  EXPECT_GT(psnr(jpeg_roundtrip(hr, 95), hr, {0, false}), 35.0);
  EXPECT_LT(psnr(jpeg_roundtrip(hr, 10), hr, {0, false}), 30.0);
}

TEST(RealEsrganDegradation, CliWritesTheSameImageForTheSameSeedAndAGrid) {
  testing::TempDir dir;
  const auto input = testing::data_path("samples/butterfly.png").string();
  for (const char* name : {"a.png", "b.png"}) {
    const auto result = testing::run_srkit("degrade " + input + " -o " + (dir / name).string() +
                                           " --pipeline realesrgan --seed 5 -q");
    ASSERT_EQ(result.exit_code, 0) << result.err;
  }
  EXPECT_TRUE(torch::equal(read_image(dir / "a.png").pixels, read_image(dir / "b.png").pixels));
  const auto result = testing::run_srkit("degrade " + input + " -o " + (dir / "grid.png").string() +
                                         " --pipeline realesrgan --grid 4 -q");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(read_image(dir / "grid.png").pixels.sizes(), torch::IntArrayRef({3, 256, 1024}));
}

}  // namespace
}  // namespace srkit
