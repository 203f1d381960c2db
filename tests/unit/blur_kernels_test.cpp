// The Real-ESRGAN blur kernels against their closed forms and properties.
#include <cmath>
#include <random>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/data/blur_kernels.h"
#include "srkit/ops/filters.h"

namespace srkit {
namespace {

TEST(BlurKernels, GaussianMatchesItsClosedForm) {
  const auto k = anisotropic_kernel(9, 1.5, 1.5, 0.7);
  const auto axis = torch::arange(-4, 5, torch::kFloat64);
  const auto g = torch::exp(-(axis.view({9, 1}).square() + axis.view({1, 9}).square()) / 4.5);
  EXPECT_TRUE(torch::allclose(k.to(torch::kFloat64), g / g.sum(), 1e-6, 1e-7));
}

TEST(BlurKernels, ShapesSumToOneAndArePointSymmetric) {
  for (const auto shape :
       {KernelShape::kGaussian, KernelShape::kGeneralized, KernelShape::kPlateau}) {
    const auto k = anisotropic_kernel(13, 2.5, 0.8, 0.4, shape, 1.7);
    EXPECT_NEAR(k.sum().item<double>(), 1.0, 1e-5);
    EXPECT_TRUE(torch::allclose(k, k.flip({0, 1}), 1e-6, 1e-7));
    EXPECT_FALSE(torch::allclose(k, k.t(), 1e-3, 1e-4)) << "anisotropic";
  }
  // Beta 1 makes the generalized kernel a Gaussian.
  EXPECT_TRUE(torch::allclose(anisotropic_kernel(11, 2.0, 1.0, 0.3, KernelShape::kGeneralized, 1),
                              anisotropic_kernel(11, 2.0, 1.0, 0.3), 1e-6, 1e-7));
}

TEST(BlurKernels, SincIsARadialLowPass) {
  const auto k = sinc_kernel(21, 3.14159265358979 / 3);
  EXPECT_NEAR(k.sum().item<double>(), 1.0, 1e-5);
  EXPECT_TRUE(torch::allclose(k, k.t(), 1e-7, 1e-8));
  EXPECT_EQ(k.argmax().item<int64_t>(), 10 * 21 + 10);
  // Frequency response: near 1 well below the cutoff (pi/3), small well above it.
  const auto response = torch::fft::fft2(k.to(torch::kFloat64), std::vector<int64_t>{128, 128})
                            .abs();  // index f <-> 2 pi f / 128 radians per pixel
  EXPECT_NEAR(response[0][5].item<double>(), 1.0, 0.1);  // 0.25 rad
  EXPECT_LT(response[0][40].item<double>(), 0.1);        // 1.96 rad
}

TEST(BlurKernels, FilterWithADeltaIsTheIdentity) {
  const auto image = torch::rand({3, 20, 17});
  auto delta = torch::zeros({7, 7});
  delta[3][3] = 1;
  EXPECT_TRUE(torch::allclose(filter2d(image, delta), image));
  const auto box = torch::full({5, 5}, 1.0F / 25);
  const auto inner = [](const torch::Tensor& t) { return t.slice(1, 2, 18).slice(2, 2, 15); };
  EXPECT_TRUE(torch::allclose(inner(filter2d(image, box)), inner(box_mean(image, 5)), 1e-5, 1e-6));
}

TEST(BlurKernels, RandomDrawsFollowTheSettings) {
  std::mt19937_64 rng(1), again(1);
  const BlurSettings settings;
  int sinc = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto drawn = random_blur_kernel(rng, settings);
    const int64_t size = drawn.kernel.size(0);
    EXPECT_TRUE(size % 2 == 1 && size >= 7 && size <= 21) << size;
    EXPECT_NEAR(drawn.kernel.sum().item<double>(), 1.0, 1e-4);
    if (drawn.description.rfind("sinc", 0) == 0) ++sinc;
    EXPECT_TRUE(torch::equal(drawn.kernel, random_blur_kernel(again, settings).kernel));
  }
  EXPECT_NEAR(sinc / 1000.0, settings.sinc_probability, 0.03);
}

}  // namespace
}  // namespace srkit
