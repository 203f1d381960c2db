#include "srkit/ops/resize.h"

#include <cmath>
#include <vector>

#include <torch/torch.h>

namespace srkit {
namespace {

double cubic(double x) {
  const double a = std::abs(x), a2 = a * a, a3 = a2 * a;
  if (a <= 1) return 1.5 * a3 - 2.5 * a2 + 1;
  if (a <= 2) return -0.5 * a3 + 2.5 * a2 - 4 * a + 2;
  return 0;
}

// MATLAB's symmetric padding: ... 2 1 | 1 2 ... n | n n-1 ... (0-based here).
int64_t mirror(int64_t index, int64_t length) {
  const int64_t period = 2 * length;
  int64_t m = ((index % period) + period) % period;
  return m < length ? m : period - 1 - m;
}

// The input samples and weights of every output sample along one axis: MATLAB's contributions().
struct AxisTaps {
  torch::Tensor index;   // [out, taps] int64, already mirrored into [0, in)
  torch::Tensor weight;  // [out, taps] float64, rows sum to one
};

AxisTaps bicubic_taps(int64_t in_length, int64_t out_length, double scale) {
  const bool shrink = scale < 1.0;
  const double kernel_width = shrink ? 4.0 / scale : 4.0;
  const int64_t taps = static_cast<int64_t>(std::ceil(kernel_width)) + 2;
  AxisTaps result{torch::empty({out_length, taps}, torch::kInt64),
                  torch::empty({out_length, taps}, torch::kFloat64)};
  auto index = result.index.accessor<int64_t, 2>();
  auto weight = result.weight.accessor<double, 2>();
  for (int64_t i = 0; i < out_length; ++i) {
    // 1-based output coordinate mapped into 1-based input space, as MATLAB does.
    const double u = static_cast<double>(i + 1) / scale + 0.5 * (1.0 - 1.0 / scale);
    const int64_t left = static_cast<int64_t>(std::floor(u - kernel_width / 2.0));
    double sum = 0;
    for (int64_t t = 0; t < taps; ++t) {
      const double distance = u - static_cast<double>(left + t);
      weight[i][t] = shrink ? scale * cubic(scale * distance) : cubic(distance);
      index[i][t] = mirror(left + t - 1, in_length);
      sum += weight[i][t];
    }
    for (int64_t t = 0; t < taps; ++t) weight[i][t] /= sum;
  }
  return result;
}

// out[..., i, ...] = sum over t of weight[i, t] * x[..., index[i, t], ...] along `dim`: the cost is
// linear in the image size (a dense [out, in] matrix would be quadratic).
torch::Tensor resample_axis(const torch::Tensor& x, int64_t dim, const AxisTaps& taps) {
  const auto index = taps.index.to(x.device());
  const auto weight = taps.weight.to(x.device());
  std::vector<int64_t> shape(x.dim(), 1);
  shape[dim] = index.size(0);
  torch::Tensor out;
  for (int64_t t = 0; t < index.size(1); ++t) {
    const auto term = x.index_select(dim, index.select(1, t)) * weight.select(1, t).view(shape);
    out = out.defined() ? out.add_(term) : term;
  }
  return out;
}

torch::Tensor resize_with(const torch::Tensor& image, const AxisTaps& rows, const AxisTaps& cols) {
  const auto x = image.to(torch::kFloat64);
  const int64_t dims = x.dim();
  return resample_axis(resample_axis(x, dims - 2, rows), dims - 1, cols).to(image.scalar_type());
}

AxisTaps axis_taps(int64_t in_length, int64_t out_length) {
  return bicubic_taps(in_length, out_length,
                      static_cast<double>(out_length) / static_cast<double>(in_length));
}

}  // namespace

BicubicRows::BicubicRows(int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w) {
  auto rows = axis_taps(in_h, out_h);
  auto cols = axis_taps(in_w, out_w);
  row_index_ = rows.index;
  row_weight_ = rows.weight;
  col_index_ = cols.index;
  col_weight_ = cols.weight;
}

std::pair<int64_t, int64_t> BicubicRows::input_rows(int64_t out_begin, int64_t out_end) const {
  const auto index = row_index_.slice(0, out_begin, out_end);
  return {index.min().item<int64_t>(), index.max().item<int64_t>() + 1};
}

torch::Tensor BicubicRows::rows(const torch::Tensor& band, int64_t band_first, int64_t out_begin,
                                int64_t out_end) const {
  const auto [first, end] = input_rows(out_begin, out_end);
  TORCH_CHECK(first >= band_first && end <= band_first + band.size(-2),
              "the band does not hold the input rows these output rows read");
  const AxisTaps rows{row_index_.slice(0, out_begin, out_end) - band_first,
                      row_weight_.slice(0, out_begin, out_end)};
  return resize_with(band, rows, AxisTaps{col_index_, col_weight_});
}

torch::Tensor bicubic_weights(int64_t in_length, int64_t out_length, double scale) {
  const auto taps = bicubic_taps(in_length, out_length, scale);
  return torch::zeros({out_length, in_length}, torch::kFloat64)
      .scatter_add_(1, taps.index, taps.weight);
}

torch::Tensor resize_bicubic(const torch::Tensor& image, int64_t out_h, int64_t out_w) {
  const int64_t in_h = image.size(-2), in_w = image.size(-1);
  return resize_with(image, axis_taps(in_h, out_h), axis_taps(in_w, out_w));
}

torch::Tensor resize_bicubic(const torch::Tensor& image, double scale) {
  // MATLAB's ceil(in * scale), without letting 255 * (1/3) = 85.00000000000001 round up to 86.
  const auto out_size = [scale](int64_t in) {
    return static_cast<int64_t>(std::ceil(static_cast<double>(in) * scale - 1e-9));
  };
  const int64_t in_h = image.size(-2), in_w = image.size(-1);
  return resize_with(image, bicubic_taps(in_h, out_size(in_h), scale),
                     bicubic_taps(in_w, out_size(in_w), scale));
}

}  // namespace srkit
