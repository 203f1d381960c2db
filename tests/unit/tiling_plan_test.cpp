// The tiled engine against its slow, obvious twin: one forward pass over the whole image.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/engine/tiling.h"
#include "support/local_test_model.h"

namespace srkit {
namespace {

using testing::LocalTestModel;

TEST(PlanAxis, CoversEveryPixelWithWindowsOfOneSizeInsideTheImage) {
  for (int64_t length : {1, 7, 64, 100, 257}) {
    for (int64_t tile : {1, 16, 33, 300}) {
      const int64_t overlap = 4, pad = 5;
      const int64_t window = std::min(length, tile + overlap + 2 * pad);
      const auto spans = plan_axis(length, tile, overlap, pad, window);
      std::vector<int> covered(length, 0);
      for (const auto& s : spans) {
        ASSERT_GE(s.window_begin, 0);
        ASSERT_LE(s.window_begin + window, length);
        // The kept pixels have `pad` pixels of context on each side, or the image border.
        ASSERT_LE(s.window_begin, std::max<int64_t>(0, s.keep_begin - pad));
        ASSERT_GE(s.window_begin + window, std::min(length, s.keep_end + pad));
        for (int64_t i = s.keep_begin; i < s.keep_end; ++i) covered[i] = 1;
      }
      for (int64_t i = 0; i < length; ++i) ASSERT_TRUE(covered[i]) << length << " " << tile;
      // A window as long as the axis needs no second tile.
      if (window == length) {
        EXPECT_EQ(spans.size(), 1u) << length << " " << tile;
      }
    }
  }
}

TEST(PlanAxis, NeighboursShareExactlyTheOverlapTheLastOneToo) {
  for (int64_t length : {7, 64, 100, 257}) {
    for (int64_t tile : {1, 16, 33}) {
      for (int64_t overlap : {0, 4}) {
        const int64_t window = std::min(length, tile + overlap + 2 * 5);
        const auto spans = plan_axis(length, tile, overlap, 5, window);
        for (size_t i = 1; i < spans.size(); ++i) {
          ASSERT_EQ(spans[i - 1].keep_end - spans[i].keep_begin, overlap)
              << length << " " << tile << " " << overlap << " span " << i;
        }
      }
    }
  }
}

TEST(PlanTiles, ExactTilesMeetEdgeToEdgeAndCutContextIsBlended) {
  ModelCard card;
  card.receptive_radius = 9.25;
  card.peak_bytes_per_input_pixel = 3264;
  TileOptions options;
  EXPECT_EQ(plan_tiles(4096, 4096, card, options, torch::kCPU).overlap, 0);
  options.pad = 4;  // context cut short: the seams differ and are blended
  EXPECT_EQ(plan_tiles(4096, 4096, card, options, torch::kCPU).overlap, 8);
  options.overlap = 3;  // asked for
  EXPECT_EQ(plan_tiles(4096, 4096, card, options, torch::kCPU).overlap, 3);
  card.receptive_radius = 350;  // capped by the memory budget
  card.peak_bytes_per_input_pixel = 12000;
  options = TileOptions{};
  options.max_memory = int64_t{1} << 30;
  const auto capped = plan_tiles(3000, 3000, card, options, torch::kCPU);
  EXPECT_FALSE(capped.exact());
  EXPECT_EQ(capped.overlap, 8);
}

TEST(PlanTiles, TilesAreEvenNotASliverAtTheEnd) {
  ModelCard card;
  card.receptive_radius = 10;
  TileOptions options;
  options.tile = 266;
  const auto plan = plan_tiles(4096, 1000, card, options, torch::kCPU);
  EXPECT_EQ(plan.rows.size(), 16u);  // as many as tiles of 266 need
  EXPECT_EQ(plan.cols.size(), 4u);
  EXPECT_EQ(plan.window_h, 256 + 2 * 10);  // 4096 = 16 x 256: the windows shrink instead
  EXPECT_EQ(plan.window_w, 250 + 2 * 10);
  EXPECT_EQ(plan.tile, 256);
}

TEST(RunTiled, EqualsTheUntiledForwardForManyTileSizes) {
  torch::InferenceMode guard;
  LocalTestModel model;
  const auto image = torch::rand({3, 45, 61});
  const auto whole = model.forward(image.unsqueeze(0))[0];
  for (int64_t tile : {4, 9, 16, 25, 64}) {
    for (int64_t overlap : {-1, 0, 3, 8}) {
      TileOptions options;
      options.tile = tile;
      options.overlap = overlap;
      const auto plan = plan_tiles(45, 61, model.card(), options, torch::kCPU);
      EXPECT_EQ(plan.pad, 2);
      const auto tiled = run_tiled(model, image, plan);
      EXPECT_LT((tiled - whole).abs().max().item<double>(), 1e-5)
          << "tile " << tile << " overlap " << overlap;
    }
  }
}

TEST(RunTiled, BlendingHidesSeamsWhenContextIsCutShort) {
  // With no context the tile edges differ from the whole-image result; a wider blend spreads the
  // difference and lowers the worst error at the seams.
  torch::InferenceMode guard;
  LocalTestModel model;
  const auto image = torch::rand({3, 64, 64});
  const auto whole = model.forward(image.unsqueeze(0))[0];
  auto error_with = [&](int64_t overlap) {
    TileOptions options;
    options.tile = 16;
    options.pad = 0;
    options.overlap = overlap;
    const auto plan = plan_tiles(64, 64, model.card(), options, torch::kCPU);
    return (run_tiled(model, image, plan) - whole).abs().max().item<double>();
  };
  EXPECT_LT(error_with(8), error_with(0));
}

TEST(PlanTiles, TileSizeFollowsTheMemoryBudget) {
  ModelCard card;
  card.scale = 2;
  card.receptive_radius = 10;
  card.peak_bytes_per_input_pixel = 1000;
  TileOptions small, large;
  small.max_memory = int64_t{64} << 20;
  large.max_memory = int64_t{1} << 30;
  const auto a = plan_tiles(4000, 4000, card, small, torch::kCPU);
  const auto b = plan_tiles(4000, 4000, card, large, torch::kCPU);
  EXPECT_LT(a.tile, b.tile);
  // The estimated activation memory of one window stays within the budget.
  EXPECT_LE(static_cast<double>(a.window_h * a.window_w) * card.peak_bytes_per_input_pixel,
            static_cast<double>(small.max_memory));
  EXPECT_TRUE(a.exact());
}

TEST(PlanTiles, ALargeImageGetsLargerTilesThanAPhoto) {
  ModelCard card;
  card.receptive_radius = 17.25;  // esrgan-medium x4
  card.peak_bytes_per_input_pixel = 5376;
  TileOptions options;
  options.max_memory = int64_t{4} << 30;
  const auto photo = plan_tiles(512, 512, card, options, torch::kCPU);
  const auto mosaic = plan_tiles(2048, 2048, card, options, torch::kCPU);
  EXPECT_GT(mosaic.window_h, photo.window_h);
  EXPECT_GE(mosaic.window_h, 280);  // a 1 GB working set, not 512 MB (218 pixels)
  EXPECT_LE(photo.window_h, 218);
}

TEST(PlanTiles, CapsAHugeReceptiveRadiusInsideTheBudgetAndSaysTheResultIsNotExact) {
  ModelCard card;
  card.receptive_radius = 350;  // a 23-block RRDB network
  card.peak_bytes_per_input_pixel = 12000;
  TileOptions options;
  options.max_memory = int64_t{1} << 30;
  const auto plan = plan_tiles(3000, 3000, card, options, torch::kCPU);
  EXPECT_LT(plan.pad, 350);
  EXPECT_FALSE(plan.exact());
  // The padding costs at most twice the kept area, not hundreds of times.
  const double kept = static_cast<double>(plan.tile + plan.overlap);
  EXPECT_LE(static_cast<double>(plan.window_h * plan.window_w) / (kept * kept), 2.05);
  // Given room, or a forced pad, it stays exact.
  options.pad = 350;
  EXPECT_TRUE(plan_tiles(3000, 3000, card, options, torch::kCPU).exact());
  options.pad = -1;
  EXPECT_TRUE(plan_tiles(150, 180, card, options, torch::kCPU).exact());  // fits one window
}

}  // namespace
}  // namespace srkit
