#include "srkit/ops/test_time_augmentation.h"

#include <random>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/ops/geometry.h"

namespace srkit {
namespace {

// Moves the content of [C,H,W] by (dy, dx) pixels: out(y, x) = in(y - dy, x - dx), bicubic,
// edges extended.
torch::Tensor translate(const torch::Tensor& image, double dy, double dx) {
  if (dy == 0 && dx == 0) return image;
  const int64_t h = image.size(-2), w = image.size(-1);
  const auto options = image.options().dtype(torch::kFloat);
  // grid_sample's normalised coordinates (align_corners = false): pixel centre x -> (2x+1)/w - 1.
  const auto ys = (2.0 * (torch::arange(h, options) - dy) + 1.0) / h - 1.0;
  const auto xs = (2.0 * (torch::arange(w, options) - dx) + 1.0) / w - 1.0;
  const auto grid =
      torch::stack({xs.view({1, w}).expand({h, w}), ys.view({h, 1}).expand({h, w})}, -1)
          .unsqueeze(0);
  // at::grid_sampler modes: interpolation 2 = bicubic, padding 1 = border.
  return at::grid_sampler(image.unsqueeze(0).to(torch::kFloat), grid, 2, 1, false)
      .squeeze(0)
      .clamp(0, 1);
}

}  // namespace

std::vector<Augmentation> ensemble_augmentations(const EnsembleOptions& options) {
  if (options.samples < 1) throw usage_error("{{EnsembleOptions::samples}} must be at least 1");
  const int distinct = options.transforms ? 8 : 1;
  if (options.samples > distinct && options.shift == 0 && options.noise == 0 && !options.seeded) {
    throw usage_error(options.transforms
                          ? "more than 8 samples repeat the flips and rotations: add "
                            "{{EnsembleOptions::shift}} or {{EnsembleOptions::noise}}"
                          : "samples without flips and rotations repeat the plain input: add "
                            "{{EnsembleOptions::shift}} or {{EnsembleOptions::noise}}, or "
                            "sample a generative model ({{EnsembleOptions::seeded}})");
  }
  if (options.shift < 0 || options.noise < 0) {
    throw usage_error("{{EnsembleOptions::shift}} and {{EnsembleOptions::noise}} must be >= 0");
  }
  std::mt19937_64 rng(options.seed);
  std::uniform_real_distribution<double> offset(-options.shift, options.shift);
  std::vector<Augmentation> out;
  for (int k = 0; k < options.samples; ++k) {
    Augmentation a;
    a.dihedral = options.transforms ? k % 8 : 0;
    if (k > 0) {
      a.shift_y = offset(rng);
      a.shift_x = offset(rng);
      a.noise = options.noise;
      a.seed = rng();
    }
    out.push_back(a);
  }
  return out;
}

torch::Tensor augment(const Augmentation& augmentation, const torch::Tensor& lr) {
  auto out = translate(lr, augmentation.shift_y, augmentation.shift_x);
  if (augmentation.noise > 0) {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(augmentation.seed);
    const auto noise = at::normal(0.0, augmentation.noise, out.sizes(), generator,
                                  out.options().device(torch::kCPU));
    out = (out + noise.to(out.device())).clamp(0, 1);
  }
  return dihedral(out, augmentation.dihedral);
}

torch::Tensor restore(const Augmentation& augmentation, const torch::Tensor& hr, double scale) {
  const auto out = dihedral_inverse(hr, augmentation.dihedral);
  return translate(out, -augmentation.shift_y * scale, -augmentation.shift_x * scale).contiguous();
}

}  // namespace srkit
