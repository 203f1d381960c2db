#include <torch/torch.h>

#include "srkit/metrics/metric.h"

namespace srkit {

double lsd(const torch::Tensor& test, const torch::Tensor& reference,
           const MetricOptions& options) {
  TORCH_CHECK(test.sizes() == reference.sizes(), "lsd: image sizes differ");
  const auto power = [&options](const torch::Tensor& image) {
    return torch::fft::fft2(metric_planes(image, options) / 255.0).abs().square();
  };
  constexpr double kEps = 1e-8;
  const auto ratio_db = 10.0 * torch::log10((power(reference) + kEps) / (power(test) + kEps));
  // sqrt of the mean over frequencies per channel, then the mean over channels.
  return ratio_db.square().mean({1, 2}).sqrt().mean().item<double>();
}

}  // namespace srkit
