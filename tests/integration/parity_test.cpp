// Parity with UpscalerJS: each package ships the output its JS runtime produced from
// assets/fixture.png (assets/samples/<N>x/result.png); srkit must reproduce it within 1 grey level.
#include <cstdio>
#include <ostream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/engine/upscale.h"
#include "srkit/io/image_io.h"
#include "srkit/models/registry.h"
#include "test_data.h"

namespace srkit {
namespace {

struct ParityCase {
  std::string model;
  int64_t scale;
};

// Shown by GoogleTest (and so in CTest names) instead of the struct's raw bytes.
void PrintTo(const ParityCase& c, std::ostream* os) { *os << c.model << " x" << c.scale; }

class Parity : public ::testing::TestWithParam<ParityCase> {};

TEST_P(Parity, MatchesThePackagesGoldenOutputWithinOneGreyLevel) {
  const auto& [name, scale] = GetParam();
  const auto fixture = read_image(testing::model_path(name + "/assets/fixture.png"));
  const auto golden = read_image(
      testing::model_path(name + "/assets/samples/" + std::to_string(scale) + "x/result.png"));
  auto model = load_model({name, scale, 1.0});
  model->prepare(torch::kCPU, /*channels_last=*/true);
  // UpscalerJS drops alpha (the fixture's is opaque): compare the RGB channels.
  const auto rgb = fixture.pixels.slice(0, 0, 3);
  const auto ours = upscale(*model, rgb, {});
  const auto expected = golden.pixels.slice(0, 0, 3);
  ASSERT_EQ(ours.sizes(), expected.sizes());
  const auto ours_8bit = ours.mul(255).round();
  const auto diff = (ours_8bit - expected.mul(255).round()).abs();
  EXPECT_LE(diff.max().item<double>(), 1.0) << name << " x" << scale;
  EXPECT_LT(diff.mean().item<double>(), 0.01) << name << " x" << scale;
  std::printf("%s x%ld vs UpscalerJS: max %.0f grey levels, mean %.2g\n", name.c_str(),
              static_cast<long>(scale), diff.max().item<double>(), diff.mean().item<double>());
}

INSTANTIATE_TEST_SUITE_P(
    UpscalerJsPackages, Parity,
    ::testing::Values(ParityCase{"default", 2}, ParityCase{"esrgan-slim", 2},
                      ParityCase{"esrgan-slim", 3}, ParityCase{"esrgan-slim", 4},
                      ParityCase{"esrgan-medium", 2}, ParityCase{"esrgan-medium", 3},
                      ParityCase{"esrgan-medium", 4}, ParityCase{"esrgan-thick", 2},
                      ParityCase{"esrgan-thick", 3}, ParityCase{"esrgan-thick", 4},
                      ParityCase{"esrgan-thick", 8}),
    [](const ::testing::TestParamInfo<ParityCase>& info) {
      return testing::case_name(info.param.model, info.param.scale);
    });

}  // namespace
}  // namespace srkit
