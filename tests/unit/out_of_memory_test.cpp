// The engine's out-of-memory path, by fault injection: a model that fails like an exhausted device
// above a window size. upscale() must halve the tile until the windows fit and still return what
// one whole-image pass returns.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/engine/input_rows.h"
#include "srkit/engine/upscale.h"
#include "srkit/models/bicubic_model.h"
#include "support/held_row_reader.h"

namespace srkit {
namespace {

// Bicubic x2 (local: the tiled result equals the whole one) that throws LibTorch's out-of-memory
// error for any input window of more than `limit` pixels, and counts the windows it ran.
class MemoryLimitedModel : public Model {
 public:
  explicit MemoryLimitedModel(int64_t limit) : limit(limit), bicubic_(2) {}
  const ModelCard& card() const override { return bicubic_.card(); }
  void prepare(const torch::Device&, bool) override {}
  torch::Tensor forward(const torch::Tensor& input) override {
    if (input.size(2) * input.size(3) > limit) {
      ++refused;
      throw c10::OutOfMemoryError({__func__, __FILE__, static_cast<uint32_t>(__LINE__)},
                                  "DefaultCPUAllocator: not enough memory: you tried to allocate");
    }
    ++ran;
    return bicubic_.forward(input);
  }
  int refused = 0, ran = 0;
  int64_t limit;

 private:
  BicubicModel bicubic_;
};

TEST(OutOfMemory, TheTileHalvesUntilItFitsAndTheResultEqualsTheWholeImage) {
  torch::InferenceMode guard;
  torch::manual_seed(5);
  const auto image = torch::rand({3, 150, 130});
  BicubicModel reference(2);
  const auto whole = reference.forward(image.unsqueeze(0))[0].clamp(0, 1);

  MemoryLimitedModel model(/*limit=*/48 * 48);
  UpscaleOptions options;
  options.tiling.tile = 128;  // windows of 128 + overlap + padding: far above the limit
  UpscaleReport report;
  const auto out = upscale(model, image, options, {}, &report);

  EXPECT_GT(model.refused, 0) << "the fault was never injected";
  EXPECT_LT(report.tile, 128) << "the tile did not shrink";
  EXPECT_GT(report.tiles, 1);
  EXPECT_GT(model.ran, 1);
  ASSERT_EQ(out.sizes(), whole.sizes());
  EXPECT_LT((out - whole).abs().max().item<double>(), 1e-5);
}

// The device runs out of memory after some bands were already written: the retry with smaller
// tiles must go on from the first row not yet handed on, never send a row twice.
TEST(OutOfMemory, ARetryAfterSomeBandsContinuesWhereTheyStopped) {
  torch::InferenceMode guard;
  torch::manual_seed(6);
  const auto image = torch::rand({3, 150, 130});
  BicubicModel reference(2);
  const auto whole = reference.forward(image.unsqueeze(0))[0].clamp(0, 1);

  MemoryLimitedModel model(/*limit=*/1 << 30);
  UpscaleOptions options;
  options.tiling.tile = 32;
  int64_t next_row = 0;
  auto collected = torch::zeros_like(whole);
  UpscaleReport report;
  upscale_in_bands(
      model, image, options,
      [&](const torch::Tensor& rows, int64_t first) {
        ASSERT_EQ(first, next_row);
        collected.slice(1, first, first + rows.size(1)).copy_(rows);
        next_row += rows.size(1);
        if (model.refused == 0 && next_row > 0) model.limit = 30 * 30;  // fail from now on
      },
      {}, &report);
  EXPECT_GT(model.refused, 0) << "the fault was never injected";
  EXPECT_LT(report.tile, 32) << "the tile did not shrink";
  EXPECT_EQ(next_row, whole.size(1));
  EXPECT_LT((collected - whole).abs().max().item<double>(), 1e-5);
}

// An input read from a file by rows is read again from its top for the retry: the rows the
// smaller tiles read are the file's, not what was left of the first pass.
TEST(OutOfMemory, ARetryReadsAFileAgainFromItsTop) {
  torch::InferenceMode guard;
  torch::manual_seed(9);
  const auto image = torch::rand({3, 150, 130});
  BicubicModel reference(2);
  const auto whole = reference.forward(image.unsqueeze(0))[0].clamp(0, 1);

  MemoryLimitedModel model(/*limit=*/1 << 30);
  auto file = std::make_shared<testing::HeldRowReader>(image);
  InputRows input(file, torch::kCPU);
  UpscaleOptions options;
  options.tiling.tile = 32;
  int64_t next_row = 0;
  auto collected = torch::zeros_like(whole);
  upscale_in_bands(model, input, options, [&](const torch::Tensor& rows, int64_t first) {
    ASSERT_EQ(first, next_row);
    collected.slice(1, first, first + rows.size(1)).copy_(rows);
    next_row += rows.size(1);
    if (model.refused == 0) model.limit = 30 * 30;  // fail from now on
  });
  EXPECT_GT(model.refused, 0) << "the fault was never injected";
  EXPECT_GE(file->restarts, 1);
  EXPECT_EQ(next_row, whole.size(1));
  EXPECT_LT((collected - whole).abs().max().item<double>(), 1e-5);
}

TEST(OutOfMemory, AModelThatNeverFitsIsAnErrorNotALoop) {
  torch::InferenceMode guard;
  MemoryLimitedModel model(/*limit=*/1);
  UpscaleOptions options;
  options.tiling.tile = 64;
  EXPECT_THROW(upscale(model, torch::rand({3, 40, 40}), options), std::exception);
  EXPECT_EQ(model.ran, 0);
}

}  // namespace
}  // namespace srkit
