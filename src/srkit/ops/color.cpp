#include "srkit/ops/color.h"

#include <torch/torch.h>

namespace srkit {

torch::Tensor rgb_to_y255(const torch::Tensor& rgb) {
  const int64_t channel_dim = rgb.dim() - 3;
  if (rgb.size(channel_dim) == 1) return rgb * 255.0;
  TORCH_CHECK(rgb.size(channel_dim) == 3, "rgb_to_y255 expects 1 or 3 channels");
  const auto r = rgb.select(channel_dim, 0), g = rgb.select(channel_dim, 1),
             b = rgb.select(channel_dim, 2);
  return (16.0 + 65.481 * r + 128.553 * g + 24.966 * b).unsqueeze(channel_dim);
}

torch::Tensor rgb_to_gray(const torch::Tensor& image) {
  TORCH_CHECK(image.dim() == 3, "expected a [C,H,W] image");
  if (image.size(0) < 3) return image[0];
  return 0.299 * image[0] + 0.587 * image[1] + 0.114 * image[2];
}

torch::Tensor as_rgb(const torch::Tensor& image) {
  TORCH_CHECK(image.dim() == 3, "expected a [C,H,W] image");
  return image.size(0) == 1 ? image.expand({3, image.size(1), image.size(2)})
                            : image.slice(0, 0, 3);
}

torch::Tensor rgb_to_lab(const torch::Tensor& rgb) {
  const int64_t channel_dim = rgb.dim() - 3;
  TORCH_CHECK(channel_dim >= 0 && rgb.size(channel_dim) == 3, "rgb_to_lab expects 3 channels");
  const auto c = rgb.is_floating_point() ? rgb : rgb.to(torch::kFloat);
  const auto linear = torch::where(c > 0.04045, ((c + 0.055) / 1.055).pow(2.4), c / 12.92);
  const auto r = linear.select(channel_dim, 0), g = linear.select(channel_dim, 1),
             b = linear.select(channel_dim, 2);
  // XYZ divided by the D65 white point (0.95047, 1, 1.08883).
  const auto x = (0.412453 * r + 0.357580 * g + 0.180423 * b) / 0.95047;
  const auto y = 0.212671 * r + 0.715160 * g + 0.072169 * b;
  const auto z = (0.019334 * r + 0.119193 * g + 0.950227 * b) / 1.08883;
  const auto f = [](const torch::Tensor& t) {
    return torch::where(t > 0.008856, t.clamp_min(0).pow(1.0 / 3.0), 7.787 * t + 16.0 / 116.0);
  };
  const auto fx = f(x), fy = f(y), fz = f(z);
  const auto lab =
      torch::stack({116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)}, channel_dim);
  return lab;
}

torch::Tensor rgb_to_unit_lab(const torch::Tensor& rgb) {
  const int64_t channel_dim = rgb.dim() - 3;
  const auto lab = rgb_to_lab(rgb);
  return torch::stack({lab.select(channel_dim, 0) / 100.0, lab.select(channel_dim, 1) / 254.0 + 0.5,
                       lab.select(channel_dim, 2) / 254.0 + 0.5},
                      channel_dim);
}

}  // namespace srkit
