#include "srkit/data/blur_kernels.h"

#include <cmath>
#include <sstream>

#include <torch/torch.h>

namespace srkit {
namespace {

constexpr double kPi = 3.14159265358979323846;

// x and y coordinates of an odd size x size grid centred on 0, float64.
std::pair<torch::Tensor, torch::Tensor> grid(int64_t size) {
  TORCH_CHECK(size >= 1 && size % 2 == 1, "kernel size must be odd, got ", size);
  const auto axis = torch::arange(size, torch::kFloat64) - static_cast<double>(size / 2);
  return {axis.view({1, size}).expand({size, size}), axis.view({size, 1}).expand({size, size})};
}

torch::Tensor normalised(const torch::Tensor& kernel) {
  return (kernel / kernel.sum()).to(torch::kFloat);
}

double uniform(std::mt19937_64& rng, double low, double high) {
  return std::uniform_real_distribution<double>(low, high)(rng);
}

int64_t odd_size(std::mt19937_64& rng, int64_t low, int64_t high) {
  return 2 * std::uniform_int_distribution<int64_t>(low / 2, high / 2)(rng) + 1;
}

std::string format(double v) {
  std::ostringstream out;
  out.precision(3);
  out << v;
  return out.str();
}

}  // namespace

torch::Tensor anisotropic_kernel(int64_t size, double sigma_x, double sigma_y, double theta,
                                 KernelShape shape, double beta) {
  const auto [x, y] = grid(size);
  const double c = std::cos(theta), s = std::sin(theta);
  // Coordinates in the kernel's own axes: u along theta, v across.
  const auto u = c * x + s * y, v = -s * x + c * y;
  const auto q = (u / sigma_x).square() + (v / sigma_y).square();
  switch (shape) {
    case KernelShape::kGaussian:
      return normalised(torch::exp(-0.5 * q));
    case KernelShape::kGeneralized:
      return normalised(torch::exp(-0.5 * q.pow(beta)));
    case KernelShape::kPlateau:
      return normalised(1.0 / (1.0 + q.pow(beta)));
  }
  return {};
}

torch::Tensor sinc_kernel(int64_t size, double omega) {
  const auto [x, y] = grid(size);
  const auto r = torch::sqrt(x.square() + y.square());
  auto kernel = torch::empty_like(r);
  auto k = kernel.accessor<double, 2>();
  auto radius = r.accessor<double, 2>();
  for (int64_t i = 0; i < size; ++i) {
    for (int64_t j = 0; j < size; ++j) {
      const double d = radius[i][j];
      k[i][j] = d == 0 ? omega * omega / (4 * kPi)
                       : omega * std::cyl_bessel_j(1.0, omega * d) / (2 * kPi * d);
    }
  }
  return normalised(kernel);
}

DrawnKernel random_blur_kernel(std::mt19937_64& rng, const BlurSettings& settings) {
  const int64_t size = odd_size(rng, settings.size_min, settings.size_max);
  if (uniform(rng, 0, 1) < settings.sinc_probability) {
    // Small kernels cannot represent low cutoffs: Real-ESRGAN's ranges.
    const double omega = size < 13 ? uniform(rng, kPi / 3, kPi) : uniform(rng, kPi / 5, kPi);
    return {sinc_kernel(size, omega), "sinc " + std::to_string(size) + "x" + std::to_string(size) +
                                          " omega " + format(omega)};
  }
  const auto& p = settings.shape_probability;
  const int which = std::discrete_distribution<int>(p.begin(), p.end())(rng);
  const bool isotropic = which % 2 == 0;
  const KernelShape shape = which < 2   ? KernelShape::kGaussian
                            : which < 4 ? KernelShape::kGeneralized
                                        : KernelShape::kPlateau;
  const double sigma_x = uniform(rng, settings.sigma_min, settings.sigma_max);
  const double sigma_y = isotropic ? sigma_x : uniform(rng, settings.sigma_min, settings.sigma_max);
  const double theta = isotropic ? 0.0 : uniform(rng, -kPi, kPi);
  double beta = 1.0;
  // Real-ESRGAN draws beta below 1 or above 1 with equal chance for the generalized kernel.
  if (shape == KernelShape::kGeneralized) {
    beta = uniform(rng, 0, 1) < 0.5 ? uniform(rng, settings.beta_generalized_min, 1.0)
                                    : uniform(rng, 1.0, settings.beta_generalized_max);
  } else if (shape == KernelShape::kPlateau) {
    beta = uniform(rng, settings.beta_plateau_min, settings.beta_plateau_max);
  }
  static const char* names[] = {"gaussian", "generalized", "plateau"};
  const std::string description = std::string(isotropic ? "iso " : "aniso ") +
                                  names[static_cast<int>(shape)] + " " + std::to_string(size) +
                                  "x" + std::to_string(size) + " sigma " + format(sigma_x) + "/" +
                                  format(sigma_y) + " theta " + format(theta) +
                                  (shape == KernelShape::kGaussian ? "" : " beta " + format(beta));
  return {anisotropic_kernel(size, sigma_x, sigma_y, theta, shape, beta), description};
}

torch::Tensor filter2d(const torch::Tensor& image, const torch::Tensor& kernel) {
  namespace F = torch::nn::functional;
  const int64_t pad = kernel.size(0) / 2;
  const auto planes = image.unsqueeze(1);  // [C,1,H,W]
  // Reflection needs more pixels than the padding; tiny images repeat their edge instead.
  const bool reflect = image.size(-1) > pad && image.size(-2) > pad;
  const auto padded =
      reflect ? F::pad(planes, F::PadFuncOptions({pad, pad, pad, pad}).mode(torch::kReflect))
              : F::pad(planes, F::PadFuncOptions({pad, pad, pad, pad}).mode(torch::kReplicate));
  return F::conv2d(padded, kernel.to(image.dtype()).view({1, 1, kernel.size(0), kernel.size(1)}))
      .squeeze(1);
}

}  // namespace srkit
