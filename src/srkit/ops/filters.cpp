#include "srkit/ops/filters.h"

#include <cmath>

#include <torch/torch.h>

namespace srkit {
namespace {

// [..., H, W] -> [N, 1, H, W] and back.
torch::Tensor as_planes(const torch::Tensor& image) {
  return image.reshape({-1, 1, image.size(-2), image.size(-1)});
}

}  // namespace

torch::Tensor box_mean(const torch::Tensor& image, int64_t kernel) {
  TORCH_CHECK(kernel >= 1 && kernel % 2 == 1, "box kernel must be odd, got ", kernel);
  if (kernel == 1) return image;
  namespace F = torch::nn::functional;
  const int64_t half = kernel / 2;
  // Separable: a rectangle's in-image pixel count is the product of the per-axis counts, so the
  // mean of row means equals the mean over the box.
  auto planes = as_planes(image);
  planes = F::avg_pool2d(
      planes,
      F::AvgPool2dFuncOptions({1, kernel}).stride(1).padding({0, half}).count_include_pad(false));
  planes = F::avg_pool2d(
      planes,
      F::AvgPool2dFuncOptions({kernel, 1}).stride(1).padding({half, 0}).count_include_pad(false));
  return planes.reshape(image.sizes());
}

torch::Tensor gaussian_blur(const torch::Tensor& image, double sigma) {
  TORCH_CHECK(sigma >= 0, "Gaussian sigma must be >= 0");
  if (sigma == 0) return image;
  namespace F = torch::nn::functional;
  const int64_t radius = static_cast<int64_t>(4.0 * sigma + 0.5);
  const auto taps = torch::arange(-radius, radius + 1, image.options().dtype(torch::kFloat64));
  auto kernel = torch::exp(-0.5 * (taps / sigma).square());
  kernel = (kernel / kernel.sum()).to(image.scalar_type());
  auto planes = as_planes(image);
  planes = F::pad(planes, F::PadFuncOptions({radius, radius, 0, 0}).mode(torch::kReplicate));
  planes = F::conv2d(planes, kernel.view({1, 1, 1, -1}));
  planes = F::pad(planes, F::PadFuncOptions({0, 0, radius, radius}).mode(torch::kReplicate));
  planes = F::conv2d(planes, kernel.view({1, 1, -1, 1}));
  return planes.reshape(image.sizes());
}

double quantile_value(const torch::Tensor& values, double q) {
  TORCH_CHECK(q >= 0 && q <= 1, "quantile must be in [0, 1]");
  const auto flat = values.reshape(-1);
  const int64_t n = flat.numel();
  TORCH_CHECK(n > 0, "quantile of no values");
  const double position = q * static_cast<double>(n - 1);
  const int64_t below = static_cast<int64_t>(std::floor(position));
  const int64_t above = std::min(below + 1, n - 1);
  const double low = std::get<0>(flat.kthvalue(below + 1)).item<double>();
  if (above == below || position == below) return low;
  const double high = std::get<0>(flat.kthvalue(above + 1)).item<double>();
  return low + (position - below) * (high - low);
}

}  // namespace srkit
