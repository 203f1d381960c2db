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

}  // namespace srkit
