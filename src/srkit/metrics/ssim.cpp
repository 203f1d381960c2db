#include <torch/torch.h>

#include "srkit/metrics/metric.h"

namespace srkit {
namespace {

torch::Tensor gaussian_window_11() {
  auto x = torch::arange(-5, 6, torch::kFloat64);
  auto g = torch::exp(-x.square() / (2 * 1.5 * 1.5));
  g = g / g.sum();
  return torch::outer(g, g).view({1, 1, 11, 11});
}

}  // namespace

torch::Tensor ssim_map(const torch::Tensor& test, const torch::Tensor& reference,
                       const MetricOptions& options) {
  TORCH_CHECK(test.sizes() == reference.sizes(), "ssim: image sizes differ");
  const auto x = metric_planes(test, options).unsqueeze(1);  // [C,1,H,W]: channels as a batch
  const auto y = metric_planes(reference, options).unsqueeze(1);
  TORCH_CHECK(x.size(2) >= 11 && x.size(3) >= 11,
              "ssim needs at least 11x11 pixels after cropping");
  const auto window = gaussian_window_11().to(x.device());
  const auto filter = [&window](const torch::Tensor& t) { return torch::conv2d(t, window); };
  const double c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255);
  const auto mu_x = filter(x), mu_y = filter(y);
  const auto sigma_x = filter(x * x) - mu_x.square();
  const auto sigma_y = filter(y * y) - mu_y.square();
  const auto sigma_xy = filter(x * y) - mu_x * mu_y;
  const auto map = ((2 * mu_x * mu_y + c1) * (2 * sigma_xy + c2)) /
                   ((mu_x.square() + mu_y.square() + c1) * (sigma_x + sigma_y + c2));
  return map.squeeze(1);
}

double ssim(const torch::Tensor& test, const torch::Tensor& reference,
            const MetricOptions& options) {
  return ssim_map(test, reference, options).mean().item<double>();
}

}  // namespace srkit
