// Parity with UpscalerJS: each package ships the output its JS runtime produced from
// assets/fixture.png (assets/samples/<N>x/result.png); srkit must reproduce it within 1 grey level.
// @upscalerjs/models has no such outputs: its models are checked on a photo against bicubic.
#include <cstdio>
#include <ostream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/engine/upscale.h"
#include "srkit/io/image_io.h"
#include "srkit/metrics/metric.h"
#include "srkit/models/registry.h"
#include "srkit/ops/resize.h"
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

// @upscalerjs/models ships no reference outputs: its uint8-quantised weights are judged by what
// they do to a photo. From a MATLAB-bicubic LR of coffee.png, every model must restore the
// spectrum better than bicubic (LSD) without losing more than 1.5 dB PSNR-Y; the PSNR-trained
// idealo-psnr-small x2 must beat bicubic by at least 1 dB. A wrong dequantisation, range or
// layer gives far worse.
TEST(UpscalerJsModels, QuantisedWeightsUpscaleAPhotoBetterThanBicubic) {
  const auto hr = read_image(testing::data_path("samples/coffee.png")).pixels;
  for (const auto& [name, scale] :
       std::vector<std::pair<std::string, int64_t>>{{"idealo-psnr-small", 2},
                                                    {"idealo-gans", 4},
                                                    {"div2k-rdn", 2},
                                                    {"div2k-rdn", 3},
                                                    {"div2k-rdn", 4}}) {
    const auto cropped =
        hr.slice(1, 0, hr.size(1) / scale * scale).slice(2, 0, hr.size(2) / scale * scale);
    const auto lr = stored_values(resize_bicubic(cropped, 1.0 / scale), 8);
    auto model = load_model({name, scale, 1.0});
    model->prepare(torch::kCPU, /*channels_last=*/true);
    const auto ours = upscale(*model, lr, {}).clamp(0, 1);
    const auto bicubic = resize_bicubic(lr, static_cast<double>(scale)).clamp(0, 1);
    ASSERT_EQ(ours.sizes(), cropped.sizes()) << name;
    const MetricOptions protocol{scale, true};
    const double psnr_ours = psnr(ours, cropped, protocol);
    const double psnr_bicubic = psnr(bicubic, cropped, protocol);
    const double lsd_ours = lsd(ours, cropped, protocol);
    const double lsd_bicubic = lsd(bicubic, cropped, protocol);
    std::printf("%s x%ld: PSNR-Y %.2f dB (bicubic %.2f), LSD %.2f dB (bicubic %.2f)\n",
                name.c_str(), static_cast<long>(scale), psnr_ours, psnr_bicubic, lsd_ours,
                lsd_bicubic);
    EXPECT_LT(lsd_ours, lsd_bicubic) << name << " x" << scale;
    EXPECT_GT(psnr_ours, psnr_bicubic - 1.5) << name << " x" << scale;
    if (name == "idealo-psnr-small") {
      EXPECT_GT(psnr_ours, psnr_bicubic + 1.0);
    }
  }
}

}  // namespace
}  // namespace srkit
