// Blending in row bands against its slow, obvious twin: every tile blended into one whole-image
// sum, divided by the total weight at the end (the blend srkit ran before bands). The bands must
// give the same output bit for bit, hand every row on exactly once and top to bottom, and hold no
// more rows than max_band_rows says.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/engine/tile_blend.h"

namespace srkit {
namespace {

// The raised-cosine weight of one tile along one axis, written out per pixel.
std::vector<float> weights_of(const Span& span, int64_t length, int64_t overlap, int64_t scale) {
  const int64_t n = (span.keep_end - span.keep_begin) * scale;
  const int64_t ramp = std::min(overlap * scale, n);
  std::vector<float> w(n, 1.0f);
  for (int64_t i = 0; i < ramp; ++i) {
    const float t = (static_cast<float>(i) + 0.5f) / static_cast<float>(ramp);
    const float rise = 0.5f - 0.5f * std::cos(t * static_cast<float>(M_PI));
    if (span.keep_begin > 0) w[i] = rise;
    if (span.keep_end < length) w[n - 1 - i] *= rise;
  }
  return w;
}

torch::Tensor whole_image_blend(const TilePlan& plan, int64_t height, int64_t width, int64_t scale,
                                int64_t channels, const WindowForward& forward) {
  auto sum = torch::zeros({channels, height * scale, width * scale});
  auto total = torch::zeros({1, height * scale, width * scale});
  for (const auto& row : plan.rows) {
    const auto rw = torch::tensor(weights_of(row, height, plan.overlap, scale));
    for (const auto& col : plan.cols) {
      const auto cw = torch::tensor(weights_of(col, width, plan.overlap, scale));
      const auto weight = rw.view({1, -1, 1}) * cw.view({1, 1, -1});
      const auto kept = forward(row.window_begin, col.window_begin)
                            .slice(1, (row.keep_begin - row.window_begin) * scale,
                                   (row.keep_end - row.window_begin) * scale)
                            .slice(2, (col.keep_begin - col.window_begin) * scale,
                                   (col.keep_end - col.window_begin) * scale);
      const auto rows = torch::indexing::Slice(row.keep_begin * scale, row.keep_end * scale);
      const auto cols = torch::indexing::Slice(col.keep_begin * scale, col.keep_end * scale);
      using torch::indexing::Slice;
      sum.index({Slice(), rows, cols}) += kept * weight;
      total.index({Slice(), rows, cols}) += weight;
    }
  }
  return sum / total;
}

struct Case {
  int64_t height, width, scale, tile, overlap, pad;
};

TEST(TileBlend, BandsAreTheWholeImageBlendRowByRow) {
  const std::vector<Case> cases{
      {37, 53, 2, 8, 3, 2},    // odd sizes, overlap and context
      {64, 40, 3, 16, 0, 0},   // no overlap: the bands are the tile rows
      {31, 90, 4, 7, 6, 1},    // overlap almost a tile
      {20, 20, 1, 100, 8, 4},  // one tile
      {17, 101, 2, 5, 2, 3},   // many thin tile-rows
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::Message() << c.height << "x" << c.width << " x" << c.scale << " tile "
                                      << c.tile << " overlap " << c.overlap << " pad " << c.pad);
    TilePlan plan;
    plan.tile = c.tile;
    plan.overlap = c.overlap;
    plan.pad = c.pad;
    plan.window_h = std::min(c.height, c.tile + c.overlap + 2 * c.pad);
    plan.window_w = std::min(c.width, c.tile + c.overlap + 2 * c.pad);
    plan.rows = plan_axis(c.height, c.tile, c.overlap, c.pad, plan.window_h);
    plan.cols = plan_axis(c.width, c.tile, c.overlap, c.pad, plan.window_w);
    // A window's "model output": a fixed random field of the whole image, plus a term that
    // depends on the window, so that overlapping tiles disagree and the blend weights matter.
    torch::manual_seed(3);
    const auto field = torch::rand({3, c.height * c.scale, c.width * c.scale});
    const WindowForward forward = [&](int64_t top, int64_t left) {
      return field.slice(1, top * c.scale, (top + plan.window_h) * c.scale)
                 .slice(2, left * c.scale, (left + plan.window_w) * c.scale) +
             0.01 * static_cast<double>(top + 2 * left);
    };
    const auto expected = whole_image_blend(plan, c.height, c.width, c.scale, 3, forward);

    std::vector<torch::Tensor> bands;
    int64_t next_row = 0, most_rows = 0;
    blend_windows_in_bands(plan, c.height, c.width, c.scale, 3, torch::TensorOptions(), forward,
                           [&](const torch::Tensor& rows, int64_t first_row) {
                             EXPECT_EQ(first_row, next_row) << "rows out of order or twice";
                             next_row = first_row + rows.size(1);
                             most_rows = std::max(most_rows, rows.size(1));
                             bands.push_back(rows.clone());
                           });
    EXPECT_EQ(next_row, c.height * c.scale) << "rows missing at the bottom";
    EXPECT_LE(most_rows, max_band_rows(plan, c.height, c.scale));
    const auto banded = torch::cat(bands, 1);
    // The same arithmetic as the twin up to the order of float additions of the weights.
    EXPECT_LT((banded - expected).abs().max().item<float>(), 1e-6);
    // And blend_windows, the bands stacked, is exactly them.
    const auto whole =
        blend_windows(plan, c.height, c.width, c.scale, 3, torch::TensorOptions(), forward);
    EXPECT_TRUE(torch::equal(whole, banded));
    if (plan.rows.size() > 2) {
      EXPECT_LT(max_band_rows(plan, c.height, c.scale), c.height * c.scale)
          << "a band as tall as the image bounds nothing";
    }
  }
}

}  // namespace
}  // namespace srkit
