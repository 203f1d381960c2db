#include "srkit/ops/component_substitution.h"

#include <torch/torch.h>

#include "srkit/core/error.h"

namespace srkit {
namespace {

struct Components {
  torch::Tensor ms, intensity, pan;  // double: [B,H,W], [1,H,W], [1,H,W] (pan matched to I)
};

Components components(const torch::Tensor& ms_upsampled, const torch::Tensor& pan) {
  if (ms_upsampled.dim() != 3 || pan.dim() != 3 || pan.size(0) != 1 ||
      ms_upsampled.size(1) != pan.size(1) || ms_upsampled.size(2) != pan.size(2)) {
    throw usage_error(
        "pansharpening needs multispectral bands [B,H,W] and one pan band [1,H,W] "
        "on the same grid");
  }
  Components c;
  c.ms = ms_upsampled.to(torch::kDouble);
  c.intensity = c.ms.mean(0, true);
  const auto p = pan.to(torch::kDouble);
  const double pan_std = p.std(/*unbiased=*/false).item<double>();
  const double gain = pan_std > 0 ? c.intensity.std(false).item<double>() / pan_std : 0.0;
  c.pan = (p - p.mean()) * gain + c.intensity.mean();
  return c;
}

}  // namespace

torch::Tensor brovey_pansharpen(const torch::Tensor& ms_upsampled, const torch::Tensor& pan) {
  const auto c = components(ms_upsampled, pan);
  const auto nonzero = c.intensity != 0;
  const auto ratio = torch::where(
      nonzero, c.pan / torch::where(nonzero, c.intensity, torch::ones_like(c.intensity)),
      torch::ones_like(c.intensity));
  return (c.ms * ratio).to(ms_upsampled.scalar_type());
}

torch::Tensor gihs_pansharpen(const torch::Tensor& ms_upsampled, const torch::Tensor& pan) {
  const auto c = components(ms_upsampled, pan);
  return (c.ms + (c.pan - c.intensity)).to(ms_upsampled.scalar_type());
}

torch::Tensor gram_schmidt_pansharpen(const torch::Tensor& ms_upsampled, const torch::Tensor& pan) {
  const auto c = components(ms_upsampled, pan);
  const auto i_centred = c.intensity - c.intensity.mean();
  const double variance = i_centred.pow(2).mean().item<double>();
  const auto ms_centred = c.ms - c.ms.mean(at::IntArrayRef{1, 2}, true);
  auto gains = (ms_centred * i_centred).mean(at::IntArrayRef{1, 2}, true);
  gains = variance > 0 ? gains / variance : torch::zeros_like(gains);
  return (c.ms + gains * (c.pan - c.intensity)).to(ms_upsampled.scalar_type());
}

}  // namespace srkit
