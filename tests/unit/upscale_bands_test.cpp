// upscale_in_bands against its slow, obvious twin: the upscale srkit ran before bands, the whole
// tiled output first, then the gray mean, the alpha (through the model: tile by tile, blended
// whole) and the resize to the scale asked applied to the whole image. The bands must give the same
// output bit for bit, every row once, top to bottom, clamped, on the CPU.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/engine/upscale.h"
#include "srkit/io/samples.h"
#include "srkit/ops/resize.h"
#include "support/local_test_model.h"

namespace srkit {
namespace {

using testing::LocalTestModel;

torch::Tensor whole_image_upscale(Model& model, const torch::Tensor& image,
                                  const UpscaleOptions& options) {
  const int64_t channels = image.size(0), s = model.card().scale;
  const auto plan =
      plan_tiles(image.size(1), image.size(2), model.card(), options.tiling, torch::kCPU);
  const auto colour = channels == 1 ? image.expand({3, -1, -1}).contiguous() : image.slice(0, 0, 3);
  auto out = run_tiled(model, colour, plan);
  if (channels == 1) out = out.mean(0, true);
  if (channels == 4) {
    const auto alpha = image.slice(0, 3, 4);
    torch::Tensor up;
    if ((alpha.max() == alpha.min()).item<bool>()) {
      up = torch::full({1, out.size(1), out.size(2)}, alpha[0][0][0].item<float>());
    } else if (options.alpha == AlphaMethod::kModel) {
      // Each tile's alpha is the mean of the model's three channels, then the tiles are blended.
      const auto forward = model_windows(model, alpha.expand({3, -1, -1}).contiguous(), plan);
      up = blend_windows(
          plan, image.size(1), image.size(2), s, 1, image.options(),
          [&](int64_t top, int64_t left) { return forward(top, left).mean(0, true); });
    } else {
      up = resize_bicubic(alpha, alpha.size(1) * s, alpha.size(2) * s);
    }
    out = torch::cat({out, up}, 0);
  }
  if (options.scale > 0 && options.scale != static_cast<double>(s)) {
    out = resize_bicubic(out, scaled_size(image.size(1), options.scale),
                         scaled_size(image.size(2), options.scale));
  }
  return out.clamp_(0.0, 1.0);
}

struct Case {
  const char* what;
  int64_t channels;
  double scale;
  AlphaMethod alpha;
  bool constant_alpha;
};

// Every colour layout, at the native scale and resized.
const std::vector<Case>& layouts() {
  static const std::vector<Case> cases{
      {"gray", 1, 0, AlphaMethod::kBicubic, false},
      {"rgb", 3, 0, AlphaMethod::kBicubic, false},
      {"rgb down to x1.5", 3, 1.5, AlphaMethod::kBicubic, false},
      {"rgb up to x3", 3, 3, AlphaMethod::kBicubic, false},
      {"rgba, bicubic alpha", 4, 0, AlphaMethod::kBicubic, false},
      {"rgba, alpha through the model", 4, 0, AlphaMethod::kModel, false},
      {"rgba, constant alpha", 4, 0, AlphaMethod::kBicubic, true},
      {"rgba to x2.5", 4, 2.5, AlphaMethod::kBicubic, false},
  };
  return cases;
}

TEST(UpscaleInBands, RowsEqualTheWholeImageUpscaleBitForBit) {
  torch::InferenceMode guard;
  LocalTestModel model(/*seed=*/11, /*weight_scale=*/0.4, /*residual=*/true);
  for (const auto& c : layouts()) {
    SCOPED_TRACE(c.what);
    torch::manual_seed(2);
    auto image = torch::rand({c.channels, 37, 29});
    if (c.constant_alpha) image[3].fill_(0.6f);
    UpscaleOptions options;
    options.scale = c.scale;
    options.alpha = c.alpha;
    options.tiling.tile = 8;  // several tile-rows, so several bands
    options.tiling.overlap = 3;
    const auto expected = whole_image_upscale(model, image, options);

    int64_t next_row = 0, bands = 0;
    auto collected = torch::full_like(expected, -1.0);
    UpscaleReport report;
    upscale_in_bands(
        model, image, options,
        [&](const torch::Tensor& rows, int64_t first) {
          ASSERT_EQ(first, next_row) << "rows out of order or repeated";
          ASSERT_TRUE(rows.device().is_cpu());
          ASSERT_EQ(rows.size(0), expected.size(0));
          ASSERT_EQ(rows.size(2), expected.size(2));
          EXPECT_GE(rows.min().item<float>(), 0.0f);
          EXPECT_LE(rows.max().item<float>(), 1.0f);
          collected.slice(1, first, first + rows.size(1)).copy_(rows);
          next_row += rows.size(1);
          ++bands;
        },
        {}, &report);
    EXPECT_EQ(next_row, expected.size(1)) << "not every row was handed on";
    EXPECT_GT(bands, 2);
    EXPECT_GT(report.tiles, 4);
    EXPECT_TRUE(torch::equal(collected, expected))
        << "max difference " << (collected - expected).abs().max().item<double>();
    EXPECT_TRUE(torch::equal(upscale(model, image, options), expected));
  }
}

// An 8-bit image may be handed over as its uint8 samples (a quarter of the memory): each window
// is scaled as it is read, and the result is the float image's bit for bit.
TEST(UpscaleInBands, EightBitSamplesGiveTheFloatImagesResultBitForBit) {
  torch::InferenceMode guard;
  const std::vector<Case> cases{
      {"gray", 1, 0, AlphaMethod::kBicubic, false},
      {"rgb down to x1.5", 3, 1.5, AlphaMethod::kBicubic, false},
      {"rgba, bicubic alpha", 4, 0, AlphaMethod::kBicubic, false},
      {"rgba, alpha through the model", 4, 0, AlphaMethod::kModel, false},
      {"rgba, constant alpha", 4, 0, AlphaMethod::kBicubic, true},
  };
  LocalTestModel model(/*seed=*/11, /*weight_scale=*/0.4, /*residual=*/true);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    torch::manual_seed(4);
    auto samples = torch::randint(0, 256, {c.channels, 37, 29}).to(torch::kUInt8);
    if (c.constant_alpha) samples[3].fill_(153);
    const auto values = unit_float(samples);
    ASSERT_EQ(values.scalar_type(), torch::kFloat32);
    EXPECT_EQ(values.max().item<float>(), samples.max().item<float>() / 255.0f);
    UpscaleOptions options;
    options.scale = c.scale;
    options.alpha = c.alpha;
    options.tiling.tile = 8;
    const auto expected = upscale(model, values, options);
    EXPECT_TRUE(torch::equal(upscale(model, samples, options), expected))
        << "max difference "
        << (upscale(model, samples, options) - expected).abs().max().item<double>();
  }
}

// Rows asked for as a file's samples are upscale()'s values quantized as the writer would: with
// tiles that meet edge to edge (quantized as they come) and with blended ones (at the end), for
// every layout, 8 and 16 bits.
TEST(UpscaleInBands, RowsAsFileSamplesAreTheValuesQuantized) {
  torch::InferenceMode guard;
  LocalTestModel model(/*seed=*/11, /*weight_scale=*/0.4, /*residual=*/true);
  for (const auto& c : layouts()) {
    for (const int bits : {8, 16}) {
      for (const int64_t overlap : {0, 3}) {
        SCOPED_TRACE(std::string(c.what) + ", " + std::to_string(bits) + " bits, overlap " +
                     std::to_string(overlap));
        torch::manual_seed(5);
        auto image = torch::rand({c.channels, 37, 29}).mul_(1.2).sub_(0.1);  // some clamped
        if (c.constant_alpha) image[3].fill_(0.6f);
        UpscaleOptions options;
        options.scale = c.scale;
        options.alpha = c.alpha;
        options.tiling.tile = 8;
        options.tiling.overlap = overlap;
        const auto expected = file_samples(upscale(model, image, options), bits);

        options.bit_depth = bits;
        auto collected = torch::empty_like(expected);
        int64_t next_row = 0;
        UpscaleReport report;
        upscale_in_bands(
            model, image, options,
            [&](const torch::Tensor& rows, int64_t first) {
              ASSERT_EQ(rows.scalar_type(), sample_type(bits));
              ASSERT_EQ(first, next_row);
              collected.slice(1, first, first + rows.size(1)).copy_(rows);
              next_row += rows.size(1);
            },
            {}, &report);
        EXPECT_EQ(next_row, expected.size(1));
        EXPECT_TRUE(report.exact);
        EXPECT_TRUE(torch::equal(collected, expected))
            << "samples differ by up to "
            << (collected.to(torch::kInt32) - expected.to(torch::kInt32)).abs().max().item<int>();
      }
    }
  }
}

// --max-memory bounds the whole run: its shares add up to it, what the input and the caller hold
// comes out of the pass's share, and a budget below the fixed parts is said to be over.
TEST(MemoryBudget, SharesAddUpToTheBudget) {
  ModelCard card;
  card.parameters = 1'000'000;
  const int64_t mb = 1 << 20;
  const auto shares = share_memory(1024 * mb, card, 100 * mb, 50 * mb);
  EXPECT_FALSE(shares.over);
  EXPECT_EQ(shares.runtime + shares.weights + shares.input + shares.held + 2 * shares.band +
                shares.allocator + shares.pass,
            1024 * mb);
  EXPECT_EQ(shares.input, 100 * mb);
  EXPECT_EQ(shares.held, 50 * mb);
  EXPECT_GE(shares.weights, 4'000'000);  // float32 parameters at least
  EXPECT_GT(shares.pass, 2 * shares.band + shares.allocator);
  EXPECT_LT(share_memory(1024 * mb, card, 300 * mb, 50 * mb).pass, shares.pass);
  // A large budget does not grow the band without end: the pass gets most of it.
  const auto large = share_memory(16384 * mb, card, 100 * mb, 0);
  EXPECT_LT(large.band, 1024 * mb);
  EXPECT_GT(large.pass, large.total * 3 / 4);

  const auto small = share_memory(64 * mb, card, 100 * mb, 0);
  EXPECT_TRUE(small.over);
  EXPECT_GT(small.pass, 0);
}

// The budget sizes the tiles: a small one cuts the image into several, a large one runs it whole,
// and the exact tiles give the same output either way.
TEST(UpscaleInBands, TheBudgetSizesTheTilesNotTheResult) {
  torch::InferenceMode guard;
  LocalTestModel model;  // 100 bytes per input pixel: windows of 447 px from a 40 MB pass
  torch::manual_seed(6);
  const auto image = torch::rand({3, 500, 600});
  UpscaleOptions options;
  options.max_memory = int64_t{4} << 30;
  UpscaleReport whole;
  const auto expected = upscale(model, image, options, {}, &whole);
  EXPECT_EQ(whole.tiles, 1);
  EXPECT_EQ(whole.memory.total, options.max_memory);
  // The input and the result upscale() holds, float32, are counted.
  EXPECT_EQ(whole.memory.input, 3 * 500 * 600 * 4);
  EXPECT_EQ(whole.memory.held, 3 * 1000 * 1200 * 4);

  const auto& m = whole.memory;
  options.max_memory = m.runtime + m.weights + m.input + m.held + (64 << 20);
  UpscaleReport tiled;
  const auto result = upscale(model, image, options, {}, &tiled);
  EXPECT_FALSE(tiled.memory.over);
  EXPECT_LT(tiled.memory.pass, 64 << 20);
  EXPECT_GT(tiled.tiles, 1);
  EXPECT_TRUE(tiled.exact);
  EXPECT_TRUE(torch::allclose(result, expected, 0, 1e-5))
      << "max difference " << (result - expected).abs().max().item<double>();
}

}  // namespace
}  // namespace srkit
