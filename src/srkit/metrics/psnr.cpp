#include <limits>

#include <torch/torch.h>

#include "srkit/metrics/metric.h"
#include "srkit/ops/color.h"

namespace srkit {

torch::Tensor metric_planes(const torch::Tensor& image, const MetricOptions& options) {
  TORCH_CHECK(image.dim() == 3, "metrics expect [C,H,W] images");
  auto planes = image.to(torch::kFloat64);
  planes = options.y_channel && planes.size(0) == 3 ? rgb_to_y255(planes) : planes * 255.0;
  const int64_t crop = options.crop_border;
  TORCH_CHECK(planes.size(1) > 2 * crop && planes.size(2) > 2 * crop, "the border crop of ", crop,
              " leaves no pixels");
  if (crop > 0) {
    planes = planes.slice(1, crop, planes.size(1) - crop).slice(2, crop, planes.size(2) - crop);
  }
  return planes;
}

double psnr(const torch::Tensor& test, const torch::Tensor& reference,
            const MetricOptions& options) {
  TORCH_CHECK(test.sizes() == reference.sizes(), "psnr: image sizes differ");
  const double mse = (metric_planes(test, options) - metric_planes(reference, options))
                         .square()
                         .mean()
                         .item<double>();
  if (mse == 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(255.0 * 255.0 / mse);
}

double psnr_in_mask(const torch::Tensor& test, const torch::Tensor& reference,
                    const torch::Tensor& mask) {
  TORCH_CHECK(test.sizes() == reference.sizes(), "psnr_in_mask: image sizes differ");
  TORCH_CHECK(mask.dim() == 2 && mask.size(0) == test.size(-2) && mask.size(1) == test.size(-1),
              "psnr_in_mask: the mask is not [H,W] of the image");
  const auto planes = MetricOptions{0, false};
  const auto squared = (metric_planes(test, planes) - metric_planes(reference, planes))
                           .square()
                           .sum(0)
                           .masked_select(mask);
  if (squared.numel() == 0) return std::numeric_limits<double>::quiet_NaN();
  const double mse =
      squared.sum().item<double>() / static_cast<double>(squared.numel() * test.size(0));
  if (mse == 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(255.0 * 255.0 / mse);
}

}  // namespace srkit
