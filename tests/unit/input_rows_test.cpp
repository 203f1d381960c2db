// The engine reading its input a band of rows at a time (engine/input_rows.h) against the image
// held whole: the same output bit for bit for every colour layout, with only a few rows held, and
// the file read again from its top after an out-of-memory retry.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/engine/input_rows.h"
#include "srkit/engine/upscale.h"
#include "support/held_row_reader.h"
#include "support/local_test_model.h"

namespace srkit {
namespace {

using testing::HeldRowReader;
using testing::LocalTestModel;

torch::Tensor collect(Model& model, InputRows& input, const UpscaleOptions& options,
                      UpscaleReport* report = nullptr) {
  std::vector<torch::Tensor> bands;
  int64_t next_row = 0;
  upscale_in_bands(
      model, input, options,
      [&](const torch::Tensor& rows, int64_t first) {
        EXPECT_EQ(first, next_row);
        next_row += rows.size(1);
        bands.push_back(rows.clone());
      },
      {}, report);
  return torch::cat(bands, 1);
}

struct Case {
  const char* what;
  int64_t channels;
  double scale;
  AlphaMethod alpha;
  bool constant_alpha;
  bool sixteen_bit;
};

TEST(InputRows, AFileReadByRowsGivesTheHeldImagesResultBitForBit) {
  torch::InferenceMode guard;
  const std::vector<Case> cases{
      {"gray", 1, 0, AlphaMethod::kBicubic, false, false},
      {"rgb", 3, 0, AlphaMethod::kBicubic, false, false},
      {"rgb, 16-bit", 3, 0, AlphaMethod::kBicubic, false, true},
      {"rgb down to x1.5", 3, 1.5, AlphaMethod::kBicubic, false, false},
      {"rgba, bicubic alpha", 4, 0, AlphaMethod::kBicubic, false, false},
      {"rgba, alpha through the model", 4, 0, AlphaMethod::kModel, false, false},
      {"rgba, constant alpha", 4, 0, AlphaMethod::kBicubic, true, false},
      {"rgba to x2.5, 16-bit", 4, 2.5, AlphaMethod::kBicubic, false, true},
  };
  LocalTestModel model(/*seed=*/11, /*weight_scale=*/0.4, /*residual=*/true);
  for (const auto& c : cases) {
    for (const int bit_depth : {0, 8}) {
      SCOPED_TRACE(std::string(c.what) + (bit_depth ? ", rows as 8-bit samples" : ""));
      torch::manual_seed(7);
      auto samples = torch::randint(0, 256, {c.channels, 101, 29}).to(torch::kUInt8);
      if (c.constant_alpha) samples[3].fill_(153);
      const auto image = c.sixteen_bit ? unit_float(samples) : samples;
      UpscaleOptions options;
      options.scale = c.scale;
      options.alpha = c.alpha;
      options.bit_depth = bit_depth;
      options.tiling.tile = 8;  // many tile-rows
      InputRows held(image);
      const auto expected = collect(model, held, options);

      auto file = std::make_shared<HeldRowReader>(image);
      InputRows streamed(file, torch::kCPU);
      UpscaleReport report;
      const auto got = collect(model, streamed, options, &report);
      ASSERT_EQ(got.sizes(), expected.sizes());
      EXPECT_TRUE(torch::equal(got, expected));
      EXPECT_TRUE(report.input_streamed);
      // A few tile-rows' windows, not the image.
      EXPECT_LT(report.input_bytes_held, image.nbytes() / 2);
      EXPECT_GT(report.input_bytes_held, 0);
      // Read once (and once more to find a constant alpha), never row by row over again.
      EXPECT_EQ(file->rows_read, (c.channels == 4 ? 2 : 1) * image.size(1));
    }
  }
}

TEST(InputRows, ReadersThatFallBehindKeepTheirRowsAndTheRestIsLetGo) {
  torch::manual_seed(8);
  const auto image = torch::randint(0, 256, {3, 60, 5}).to(torch::kUInt8);
  auto file = std::make_shared<HeldRowReader>(image);
  InputRows input(file, torch::kCPU);
  input.begin(2);
  EXPECT_TRUE(torch::equal(input.rows(0, 10, 0), image.slice(1, 0, 10)));
  EXPECT_TRUE(torch::equal(input.rows(20, 30, 0), image.slice(1, 20, 30)));
  EXPECT_TRUE(torch::equal(input.rows(2, 4, 1), image.slice(1, 2, 4)));  // kept for reader 1
  EXPECT_TRUE(torch::equal(input.rows(25, 40, 0), image.slice(1, 25, 40)));
  EXPECT_TRUE(torch::equal(input.rows(30, 31, 1), image.slice(1, 30, 31)));
  EXPECT_THROW(input.rows(1, 3, 1), c10::Error) << "a reader's rows moved up";
  EXPECT_TRUE(torch::equal(input.rows(50, 60, 0), image.slice(1, 50, 60)));
  EXPECT_EQ(file->rows_read, 60);
  input.begin(1);  // a retry: from the top of the file again
  EXPECT_EQ(file->restarts, 1);
  EXPECT_TRUE(torch::equal(input.rows(0, 3), image.slice(1, 0, 3)));
}

}  // namespace
}  // namespace srkit
