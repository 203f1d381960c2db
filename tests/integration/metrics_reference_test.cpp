// PSNR, SSIM and LSD on two real photos against values computed independently with NumPy and
// scikit-image by tests/reference/metric_references.py (its docstring states the protocol).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/io/image_io.h"
#include "srkit/metrics/metric.h"
#include "test_data.h"

namespace srkit {
namespace {

TEST(MetricsOnRealPhotos, MatchScikitImage) {
  const auto test = read_image(testing::data_path("samples/motorcycle_left.png")).pixels;
  const auto reference = read_image(testing::data_path("samples/motorcycle_right.png")).pixels;
  MetricOptions protocol;
  protocol.crop_border = 4;
  protocol.y_channel = true;
  EXPECT_NEAR(psnr(test, reference, protocol), 14.4571286269, 1e-6);
  EXPECT_NEAR(ssim(test, reference, protocol), 0.3345241583, 1e-6);
  EXPECT_NEAR(lsd(test, reference, protocol), 7.7633819470, 1e-5);
}

}  // namespace
}  // namespace srkit
