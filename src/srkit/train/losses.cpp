#include "srkit/train/losses.h"

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/ops/dct.h"

namespace srkit {
namespace {

// |z|^2 of a complex tensor, smooth everywhere (abs() has no gradient at 0).
torch::Tensor squared_modulus(const torch::Tensor& z) {
  return torch::view_as_real(z).square().sum(-1);
}

}  // namespace

torch::Tensor pixel_l1_loss(const torch::Tensor& prediction, const torch::Tensor& target) {
  return (prediction - target).abs().mean();
}

torch::Tensor pixel_mse_loss(const torch::Tensor& prediction, const torch::Tensor& target) {
  return (prediction - target).square().mean();
}

torch::Tensor charbonnier_loss(const torch::Tensor& prediction, const torch::Tensor& target,
                               double eps) {
  return ((prediction - target).square() + eps * eps).sqrt().mean();
}

torch::Tensor sobolev_weights(int64_t height, int64_t width, const SobolevOptions& options,
                              const torch::TensorOptions& tensor_options) {
  const auto wide = torch::TensorOptions().dtype(torch::kFloat64);
  torch::Tensor k, l;  // cycles per image along each axis
  switch (options.transform) {
    case SobolevTransform::kFft:
      k = torch::fft::fftfreq(height, 1.0 / static_cast<double>(height), wide);
      l = torch::fft::fftfreq(width, 1.0 / static_cast<double>(width), wide);
      break;
    case SobolevTransform::kFftHalfPlane:
      k = torch::fft::fftfreq(height, 1.0 / static_cast<double>(height), wide);
      l = torch::fft::rfftfreq(width, 1.0 / static_cast<double>(width), wide);
      break;
    case SobolevTransform::kDct:  // DCT index u is a cosine of u/2 cycles over the image
      k = torch::arange(height, wide) / 2.0;
      l = torch::arange(width, wide) / 2.0;
      break;
  }
  const double c = options.frequency_scale;
  const auto radius_sq = (c * k).square().view({-1, 1}) + (c * l).square().view({1, -1});
  const auto weights = (1.0 + radius_sq).pow(options.s);
  return weights.to(tensor_options.has_dtype() ? tensor_options
                                               : tensor_options.dtype(torch::kFloat32));
}

torch::Tensor sobolev_norm_sq(const torch::Tensor& residual, const SobolevOptions& options) {
  TORCH_CHECK(residual.dim() == 4, "sobolev_norm_sq expects [N,C,H,W]");
  const int64_t c = residual.size(1), h = residual.size(2), w = residual.size(3);
  const auto x = residual.to(torch::kFloat);
  torch::Tensor energy;
  switch (options.transform) {
    case SobolevTransform::kFft:
      energy = squared_modulus(torch::fft::fft2(x, c10::nullopt, {-2, -1}, "ortho"));
      break;
    case SobolevTransform::kFftHalfPlane:
      energy = squared_modulus(torch::fft::rfft2(x, c10::nullopt, {-2, -1}, "ortho"));
      break;
    case SobolevTransform::kDct:
      energy = dct2(x).square();
      break;
  }
  const auto weights = sobolev_weights(h, w, options, x.options());
  return (energy * weights).sum({1, 2, 3}) / static_cast<double>(c * h * w);
}

torch::Tensor sobolev_loss(const torch::Tensor& prediction, const torch::Tensor& target,
                           const SobolevOptions& options) {
  return sobolev_norm_sq(prediction - target, options).mean();
}

torch::Tensor frequency_l1_loss(const torch::Tensor& prediction, const torch::Tensor& target) {
  const auto spectrum = [](const torch::Tensor& t) {
    return torch::fft::fft2(t.to(torch::kFloat), c10::nullopt, {-2, -1}, "ortho");
  };
  // The modulus with a tiny floor: |z| has no gradient at z = 0.
  return (squared_modulus(spectrum(prediction) - spectrum(target)) + 1e-12).sqrt().mean();
}

SobolevTransform parse_sobolev_transform(const std::string& name) {
  if (name == "fft") return SobolevTransform::kFft;
  if (name == "fft-half") return SobolevTransform::kFftHalfPlane;
  if (name == "dct") return SobolevTransform::kDct;
  throw usage_error("Sobolev transform " + name + ": use fft, fft-half or dct");
}

}  // namespace srkit
