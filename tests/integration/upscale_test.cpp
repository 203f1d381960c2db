// Upscaling whole images: channel layouts, scales the model does not offer, and quality a user
// would check first (the model beats bicubic on a real photo).
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

std::unique_ptr<Model> ready(const std::string& name, int64_t scale) {
  auto model = load_model({name, scale, 1.0});
  model->prepare(torch::kCPU, true);
  return model;
}

TEST(Upscale, GrayComesBackGray) {
  const auto gray = read_image(testing::data_path("samples/camera.png")).pixels.slice(1, 0, 64);
  auto model = ready("default", 2);
  const auto out = upscale(*model, gray, {});
  EXPECT_EQ(out.sizes(), torch::IntArrayRef({1, 128, 1024}));
}

TEST(Upscale, AlphaIsUpscaledAndOpaqueStaysOpaque) {
  const auto rgb = read_image(testing::data_path("samples/chelsea.png")).pixels.slice(1, 0, 48);
  auto model = ready("esrgan-slim", 2);
  const auto rgb_only = upscale(*model, rgb, {});

  // An opaque image saved with an alpha channel stays exactly opaque, with either method.
  const auto opaque = torch::cat({rgb, torch::ones({1, rgb.size(1), rgb.size(2)})}, 0);
  for (const auto method : {AlphaMethod::kBicubic, AlphaMethod::kModel}) {
    UpscaleOptions options;
    options.alpha = method;
    const auto out = upscale(*model, opaque, options);
    EXPECT_EQ(out[3].min().item<double>(), 1.0);
    EXPECT_TRUE(torch::allclose(out.slice(0, 0, 3), rgb_only, 0, 1e-6));
  }

  // Left part transparent, the rest opaque: away from the edge the alpha keeps its value.
  auto alpha = torch::ones({1, rgb.size(1), rgb.size(2)});
  alpha.slice(2, 0, 100).fill_(0);
  const auto rgba = torch::cat({rgb, alpha}, 0);
  for (const auto method : {AlphaMethod::kBicubic, AlphaMethod::kModel}) {
    UpscaleOptions options;
    options.alpha = method;
    const auto out = upscale(*model, rgba, options);
    ASSERT_EQ(out.size(0), 4);
    // The model's own border effects reach its receptive radius (10 LR px = 20 HR px) inwards.
    const auto inner = out[3].slice(0, 20, out.size(1) - 20);
    EXPECT_GT(inner.slice(1, 220, out.size(2) - 20).min().item<double>(), 0.99);
    EXPECT_LT(inner.slice(1, 0, 180).max().item<double>(), 0.01);
    EXPECT_TRUE(torch::allclose(out.slice(0, 0, 3), rgb_only, 0, 1e-6));
  }
}

TEST(Upscale, ScaleTheModelDoesNotOfferIsReachedByResizing) {
  EXPECT_EQ(choose_native_scale({2, 3, 4, 8}, 6), 8);
  EXPECT_EQ(choose_native_scale({2, 3, 4, 8}, 3), 3);
  EXPECT_EQ(choose_native_scale({2}, 3), 2);
  EXPECT_EQ(choose_native_scale({2, 3, 4, 8}, 1.5), 2);
  const auto image = read_image(testing::data_path("samples/butterfly.png")).pixels.slice(1, 0, 50);
  auto model = ready("default", 2);
  UpscaleOptions options;
  options.scale = 3;
  UpscaleReport report;
  const auto out = upscale(*model, image, options, {}, &report);
  EXPECT_TRUE(report.resized);
  EXPECT_EQ(report.native_scale, 2);
  EXPECT_EQ(out.sizes(), torch::IntArrayRef({3, 150, 768}));
}

TEST(Upscale, ModelBeatsBicubicOnARealPhoto) {
  // Butterfly (Set5), LR by MATLAB bicubic x4; PSNR on BT.601 Y, border crop 4.
  const auto hr = read_image(testing::data_path("samples/butterfly.png")).pixels;
  const auto lr = resize_bicubic(hr, 0.25).clamp(0, 1).mul(255).round().div(255);
  auto model = ready("esrgan-medium", 4);
  const auto sr = upscale(*model, lr, {});
  const auto bicubic = resize_bicubic(lr, 4.0).clamp(0, 1);
  MetricOptions protocol;
  protocol.crop_border = 4;
  const double model_db = psnr(sr, hr, protocol), bicubic_db = psnr(bicubic, hr, protocol);
  EXPECT_GT(model_db, bicubic_db + 0.5) << model_db << " vs bicubic " << bicubic_db;
}

}  // namespace
}  // namespace srkit
