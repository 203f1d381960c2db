// Parity with ncnn itself: bench/ncnn/make_goldens.sh ran every registered ncnn model with ncnn
// (fp32, the conventions of the model's program) on a 24x24 crop of a photo and kept the outputs
// in tests/fixtures/ncnn/. srkit must reproduce each within 1 grey level in every pixel.
#include <cstdio>
#include <ostream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/engine/upscale.h"
#include "srkit/io/image_io.h"
#include "srkit/models/ncnn_model.h"
#include "srkit/models/registry.h"
#include "test_data.h"

namespace srkit {
namespace {

struct NcnnCase {
  std::string model;
  int64_t scale;
};

void PrintTo(const NcnnCase& c, std::ostream* os) { *os << c.model << " x" << c.scale; }

std::vector<NcnnCase> ncnn_cases() {
  std::vector<NcnnCase> cases;
  for (const auto& entry : known_models()) {
    if (entry.format != ModelEntry::Format::kNcnn) continue;
    for (auto scale : entry.scales) cases.push_back({entry.name, scale});
  }
  return cases;
}

std::filesystem::path fixture(const std::string& name) {
  return std::filesystem::path(SRKIT_FIXTURES) / "ncnn" / name;
}

class NcnnParity : public ::testing::TestWithParam<NcnnCase> {};

TEST_P(NcnnParity, MatchesNcnnWithinOneGreyLevelInEveryPixel) {
  const auto& [name, scale] = GetParam();
  const auto input = read_image(fixture("input.png")).pixels;
  const auto golden_file = fixture(name + "_x" + std::to_string(scale) + ".png");
  ASSERT_TRUE(std::filesystem::exists(golden_file)) << "run bench/ncnn/make_goldens.sh";
  const auto golden = read_image(golden_file).pixels;
  auto model = load_model({name, scale, 1.0});
  model->prepare(torch::kCPU, /*channels_last=*/true);
  const auto ours = upscale(*model, input, {});
  ASSERT_EQ(ours.sizes(), golden.sizes());
  const auto diff = (ours.mul(255).round() - golden.mul(255).round()).abs();
  EXPECT_LE(diff.max().item<double>(), 1.0) << name << " x" << scale;
  std::printf("%s x%ld vs ncnn: max %.0f grey levels, mean %.3g, max float difference %.2g\n",
              name.c_str(), static_cast<long>(scale), diff.max().item<double>(),
              diff.mean().item<double>(), (ours - golden).abs().max().item<double>());
}

INSTANTIATE_TEST_SUITE_P(NcnnModels, NcnnParity, ::testing::ValuesIn(ncnn_cases()),
                         [](const ::testing::TestParamInfo<NcnnCase>& info) {
                           return testing::case_name(info.param.model, info.param.scale);
                         });

// Tiles stay exact: the receptive radius read off the graph is enough context for every pixel,
// and a model whose squeeze-excitation averages over the whole image runs it whole by default.
TEST(NcnnTiling, TiledEqualsWholeForAConvolutionalNetwork) {
  auto model = load_model({"realesr-animevideov3", 2, 1.0});
  model->prepare(torch::kCPU, true);
  const auto image = read_image(testing::data_path("samples/chelsea.png"))
                         .pixels.slice(1, 60, 140)
                         .slice(2, 100, 196);
  UpscaleOptions whole;
  whole.tiling.tile = 1000;
  UpscaleOptions tiled;
  tiled.tiling.tile = 24;
  UpscaleReport report;
  const auto a = upscale(*model, image, whole);
  const auto b = upscale(*model, image, tiled, {}, &report);
  EXPECT_GT(report.tiles, 4);
  EXPECT_LT((a - b).abs().max().item<double>(), 1e-4);
}

TEST(NcnnTiling, AGlobalContextModelRunsWholeByDefault) {
  auto model = load_model({"realcugan-conservative", 2, 1.0});
  EXPECT_TRUE(model->card().global_context);
  model->prepare(torch::kCPU, true);
  const auto image = read_image(testing::data_path("samples/chelsea.png"))
                         .pixels.slice(1, 40, 168)
                         .slice(2, 100, 260);
  UpscaleOptions defaults;
  defaults.tiling.max_memory = 1;  // a budget that would force the smallest tiles
  UpscaleReport report;
  const auto a = upscale(*model, image, defaults, {}, &report);
  EXPECT_EQ(report.tiles, 1);
  // A forced tiling sees other means in each tile: not equal (why the default runs it whole).
  UpscaleOptions tiled;
  tiled.tiling.tile = 32;
  UpscaleReport tiled_report;
  const auto b = upscale(*model, image, tiled, {}, &tiled_report);
  EXPECT_GT(tiled_report.tiles, 1);
  EXPECT_TRUE(report.exact);
  EXPECT_FALSE(tiled_report.exact);  // and the report says so
  EXPECT_GT((a - b).abs().max().item<double>(), 1e-4);
}

// bfloat16 weights and activations: what --precision bf16 runs where the CPU has AVX512-BF16 or
// AMX (emulated, slowly, elsewhere; the numbers are the same).
TEST(NcnnPrecision, Bfloat16StaysWithinAGreyLevelOfFloat32OnAPhoto) {
  auto model = load_model({"realesr-animevideov3", 2, 1.0});
  model->prepare(torch::kCPU, true);
  const auto input = read_image(fixture("input.png")).pixels;
  const auto fp32 = upscale(*model, input, {});
  model->set_precision(torch::kBFloat16);
  const auto bf16 = upscale(*model, input, {});
  const auto diff = (fp32 - bf16).abs().mul(255);
  EXPECT_LT(diff.mean().item<double>(), 0.5);
  EXPECT_LT(diff.max().item<double>(), 8.0);
  std::printf("bf16 vs fp32: mean %.3f, max %.2f grey levels\n", diff.mean().item<double>(),
              diff.max().item<double>());
  // A model without a bf16 path says so.
  auto tfjs = load_model({"esrgan-slim", 2, 1.0});
  EXPECT_THROW(tfjs->set_precision(torch::kBFloat16), Error);
}

TEST(NcnnModelFile, AnyParamFileRunsByPath) {
  const auto param = testing::model_path("waifu2x-upconv7/x2/model.param");
  auto model = load_model({param.string(), 0, 1.0});
  EXPECT_EQ(model->card().scale, 2);
  model->prepare(torch::kCPU, false);
  const auto out = model->forward(torch::rand({1, 3, 10, 13}));
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{1, 3, 20, 26}));
}

}  // namespace
}  // namespace srkit
