#include "srkit/data/guided_protocol.h"

#include <cmath>

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/ops/kspace.h"
#include "srkit/ops/resize.h"

namespace srkit {
namespace {

// Symmetric extension (MATLAB 'symmetric'): ... 1 0 | 0 1 2 ... n-1 | n-1 n-2 ...
int64_t mirror(int64_t j, int64_t n) {
  const int64_t period = 2 * n;
  j = ((j % period) + period) % period;
  return j < n ? j : period - 1 - j;
}

void require_multiple(const torch::Tensor& image, int64_t factor, const std::string& what) {
  if (factor < 1 || image.size(-2) % factor != 0 || image.size(-1) % factor != 0) {
    throw usage_error(
        what + " by " + std::to_string(factor) + " needs sides that are multiples of it, got " +
        std::to_string(image.size(-2)) + "x" + std::to_string(image.size(-1)) + " (crop first)");
  }
}

}  // namespace

torch::Tensor crop_to_multiple(const torch::Tensor& image, int64_t multiple) {
  const int64_t h = image.size(-2) / multiple * multiple, w = image.size(-1) / multiple * multiple;
  if (h == 0 || w == 0) {
    throw usage_error("an image of " + std::to_string(image.size(-2)) + "x" +
                      std::to_string(image.size(-1)) + " is smaller than the scale " +
                      std::to_string(multiple));
  }
  return image.slice(-2, 0, h).slice(-1, 0, w);
}

namespace {

// Push-pull filling of [N,1,H,W]: known-weighted 2x2 means down to a level where every pixel is
// known, then back up, each unknown pixel taking the bilinear interpolation of the level below.
torch::Tensor push_pull(const torch::Tensor& values, const torch::Tensor& known) {
  if (known.all().item<bool>()) return values;
  const int64_t h = values.size(2), w = values.size(3);
  const auto weight = known.to(values.scalar_type());
  const auto pad = [&](const torch::Tensor& x) {
    return torch::constant_pad_nd(x, {0, w % 2, 0, h % 2}, 0);
  };
  const auto sums =
      torch::avg_pool2d(pad(torch::where(known, values, torch::zeros_like(values))), 2);
  const auto counts = torch::avg_pool2d(pad(weight), 2);
  const auto coarse_known = counts > 0;
  const auto coarse = push_pull(sums / counts.clamp_min(1e-12), coarse_known);
  const auto up = torch::upsample_bilinear2d(coarse, {h + h % 2, w + w % 2}, false)
                      .slice(2, 0, h)
                      .slice(3, 0, w);
  return torch::where(known, values, up);
}

}  // namespace

torch::Tensor fill_unknown(const torch::Tensor& map) {
  const auto values = map.to(torch::kDouble);
  const auto known = torch::isfinite(values);
  if (!known.any().item<bool>()) throw usage_error("a map with no known pixel cannot be filled");
  const auto shape = values.sizes().vec();
  const auto planes = values.reshape({-1, 1, shape[shape.size() - 2], shape.back()});
  std::vector<torch::Tensor> filled;
  for (int64_t i = 0; i < planes.size(0); ++i) {
    const auto plane = planes.slice(0, i, i + 1);
    const auto plane_known = torch::isfinite(plane);
    if (!plane_known.any().item<bool>()) {
      throw usage_error("a map with no known pixel cannot be filled");
    }
    filled.push_back(
        push_pull(torch::where(plane_known, plane, torch::zeros_like(plane)), plane_known));
  }
  return torch::cat(filled).reshape(shape).to(map.scalar_type());
}

torch::Tensor mtf_decimation_weights(int64_t in_length, int64_t factor, double nyquist_gain) {
  if (!(nyquist_gain > 0 && nyquist_gain < 1)) {
    throw usage_error("the MTF gain at Nyquist must be in (0, 1), got " +
                      std::to_string(nyquist_gain));
  }
  const double sigma = factor * std::sqrt(-2.0 * std::log(nyquist_gain)) / M_PI;
  const int64_t radius = static_cast<int64_t>(std::ceil(4 * sigma)) + 1;
  const int64_t out_length = in_length / factor;
  auto weights = torch::zeros({out_length, in_length}, torch::kDouble);
  auto w = weights.accessor<double, 2>();
  for (int64_t k = 0; k < out_length; ++k) {
    // The low-resolution pixel k covers [k*factor, (k+1)*factor): its centre in input pixels.
    const double centre = (k + 0.5) * factor - 0.5;
    double total = 0;
    for (int64_t j = static_cast<int64_t>(std::floor(centre)) - radius;
         j <= static_cast<int64_t>(std::ceil(centre)) + radius; ++j) {
      const double d = (j - centre) / sigma;
      const double g = std::exp(-0.5 * d * d);
      w[k][mirror(j, in_length)] += g;
      total += g;
    }
    for (int64_t j = 0; j < in_length; ++j) w[k][j] /= total;
  }
  return weights;
}

torch::Tensor mtf_decimate(const torch::Tensor& image, int64_t factor, double nyquist_gain) {
  require_multiple(image, factor, "Wald decimation");
  const auto rows = mtf_decimation_weights(image.size(-2), factor, nyquist_gain);
  const auto columns = mtf_decimation_weights(image.size(-1), factor, nyquist_gain);
  const auto x = image.to(torch::kDouble);
  return torch::matmul(torch::matmul(rows, x), columns.t()).to(image.scalar_type());
}

torch::Tensor degrade_guided_target(GuidedTask task, const torch::Tensor& target_hr, int64_t scale,
                                    MriDownsampling mri) {
  require_multiple(target_hr, scale, "downsampling the target");
  const int64_t h = target_hr.size(-2) / scale, w = target_hr.size(-1) / scale;
  switch (task) {
    case GuidedTask::kDepth:
      return resize_bicubic(fill_unknown(target_hr), h, w);
    case GuidedTask::kPan:
      return mtf_decimate(target_hr, scale, kMsNyquistGain);
    case GuidedTask::kMri:
      return mri == MriDownsampling::kKspace ? kspace_downsample(target_hr, scale)
                                             : resize_bicubic(target_hr, h, w);
  }
  throw usage_error("unknown guided task");
}

MriDownsampling parse_mri_downsampling(const std::string& name) {
  if (name == "kspace") return MriDownsampling::kKspace;
  if (name == "bicubic") return MriDownsampling::kBicubic;
  throw usage_error("unknown MR downsampling '" + name + "': choose kspace or bicubic");
}

}  // namespace srkit
