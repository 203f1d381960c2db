// Blur kernels of the Real-ESRGAN degradation model (Wang et al. 2021): isotropic and anisotropic
// Gaussians, generalized Gaussians, plateau kernels and the circular low-pass (sinc) kernel that
// imitates ringing. Every kernel is a [size, size] float tensor summing to 1.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <torch/types.h>

namespace srkit {

enum class KernelShape {
  kGaussian,     // exp(-q/2)
  kGeneralized,  // exp(-q^beta / 2)   (heavier or lighter tails than a Gaussian)
  kPlateau,      // 1 / (1 + q^beta)   (flat top)
};

// q = x^T Sigma^-1 x with Sigma = R(theta) diag(sigma_x^2, sigma_y^2) R(theta)^T, on an odd grid.
torch::Tensor anisotropic_kernel(int64_t size, double sigma_x, double sigma_y, double theta,
                                 KernelShape shape = KernelShape::kGaussian, double beta = 1.0);

// The ideal circular low-pass filter with cutoff `omega` (radians per pixel), sampled on an odd
// grid: omega J1(omega r) / (2 pi r), omega^2 / (4 pi) at the centre, then normalised.
torch::Tensor sinc_kernel(int64_t size, double omega);

// The random kernel of one Real-ESRGAN blur stage.
struct BlurSettings {
  // Probabilities of iso, aniso, generalized iso, generalized aniso, plateau iso, plateau aniso.
  std::vector<double> shape_probability = {0.45, 0.25, 0.12, 0.03, 0.12, 0.03};
  double sigma_min = 0.2, sigma_max = 3.0;
  double beta_generalized_min = 0.5, beta_generalized_max = 4.0;
  double beta_plateau_min = 1.0, beta_plateau_max = 2.0;
  double sinc_probability = 0.1;
  int64_t size_min = 7, size_max = 21;  // odd sizes between
};

struct DrawnKernel {
  torch::Tensor kernel;
  std::string description;  // e.g. "aniso gaussian 13x13 sigma 1.20/0.50 theta 0.3"
};

DrawnKernel random_blur_kernel(std::mt19937_64& rng, const BlurSettings& settings);

// Convolves every channel of [C,H,W] with `kernel`, borders reflected (same size out).
torch::Tensor filter2d(const torch::Tensor& image, const torch::Tensor& kernel);

}  // namespace srkit
