// Tiled inference on a real photo with real models equals one whole-image pass: within 1/255
// everywhere (so no seam can show), for tile sizes that do and do not divide the image.
#include <cstdio>

#include <ostream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/engine/tiling.h"
#include "srkit/io/image_io.h"
#include "srkit/models/registry.h"
#include "test_data.h"

namespace srkit {
namespace {

struct TilingCase {
  std::string model;
  int64_t scale;
  std::vector<int64_t> tiles;
};

// Shown by GoogleTest (and so in CTest names) instead of the struct's raw bytes.
void PrintTo(const TilingCase& c, std::ostream* os) { *os << c.model << " x" << c.scale; }

class TiledVsUntiled : public ::testing::TestWithParam<TilingCase> {};

TEST_P(TiledVsUntiled, AgreeWithinOneGreyLevel) {
  const auto& param = GetParam();
  // A 200 x 168 crop of the astronaut photo (face, suit edges and flag: hard content).
  const auto photo = read_image(testing::data_path("samples/astronaut.png")).pixels;
  const auto image = photo.slice(1, 40, 208).slice(2, 150, 350).contiguous();
  auto model = load_model({param.model, param.scale, 1.0});
  model->prepare(torch::kCPU, true);
  torch::InferenceMode guard;
  const auto whole = model->forward(image.unsqueeze(0))[0].clamp(0, 1);
  for (const int64_t tile : param.tiles) {
    TileOptions options;
    options.tile = tile;
    const auto plan = plan_tiles(image.size(1), image.size(2), model->card(), options, torch::kCPU);
    ASSERT_GT(plan.count(), 1) << "tile " << tile << " must split the image";
    const auto tiled = run_tiled(*model, image, plan).clamp(0, 1);
    const double max_diff = (tiled - whole).abs().max().item<double>();
    EXPECT_LE(max_diff, 1.0 / 255.0) << param.model << " x" << param.scale << " tile " << tile;
    std::printf("%s x%ld tile %ld (%ld tiles): max |tiled - untiled| = %.3g (%.4f grey levels)\n",
                param.model.c_str(), static_cast<long>(param.scale), static_cast<long>(tile),
                static_cast<long>(plan.count()), max_diff, max_diff * 255);
    // After rounding to 8 bits the two images are the same picture.
    const auto differing = (tiled.mul(255).round() != whole.mul(255).round()).to(torch::kFloat64);
    EXPECT_LT(differing.mean().item<double>(), 1e-3) << "tile " << tile;
  }
}

INSTANTIATE_TEST_SUITE_P(RealModels, TiledVsUntiled,
                         ::testing::Values(TilingCase{"esrgan-slim", 2, {16, 37, 64}},
                                           TilingCase{"esrgan-medium", 4, {24, 50, 100}},
                                           TilingCase{"esrgan-slim", 3, {45}}),
                         [](const ::testing::TestParamInfo<TilingCase>& info) {
                           return testing::case_name(info.param.model, info.param.scale);
                         });

}  // namespace
}  // namespace srkit
