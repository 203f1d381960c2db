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

torch::Tensor apply_along_rows_and_cols(const torch::Tensor& image, const torch::Tensor& rows,
                                        const torch::Tensor& cols) {
  const auto x = image.to(torch::kFloat64);
  auto y = torch::matmul(rows, x);  // [..., out_h, W]
  y = torch::matmul(y, cols.t());   // [..., out_h, out_w]
  return y.to(image.scalar_type());
}

}  // namespace

torch::Tensor bicubic_weights(int64_t in_length, int64_t out_length, double scale) {
  const bool shrink = scale < 1.0;
  const double kernel_width = shrink ? 4.0 / scale : 4.0;
  const int64_t taps = static_cast<int64_t>(std::ceil(kernel_width)) + 2;
  auto weights = torch::zeros({out_length, in_length}, torch::kFloat64);
  auto w = weights.accessor<double, 2>();
  std::vector<double> row(taps);
  for (int64_t i = 0; i < out_length; ++i) {
    // 1-based output coordinate mapped into 1-based input space, as MATLAB does.
    const double u = static_cast<double>(i + 1) / scale + 0.5 * (1.0 - 1.0 / scale);
    const int64_t left = static_cast<int64_t>(std::floor(u - kernel_width / 2.0));
    double sum = 0;
    for (int64_t t = 0; t < taps; ++t) {
      const double distance = u - static_cast<double>(left + t);
      row[t] = shrink ? scale * cubic(scale * distance) : cubic(distance);
      sum += row[t];
    }
    for (int64_t t = 0; t < taps; ++t) {
      w[i][mirror(left + t - 1, in_length)] += row[t] / sum;
    }
  }
  return weights;
}

torch::Tensor resize_bicubic(const torch::Tensor& image, int64_t out_h, int64_t out_w) {
  const int64_t in_h = image.size(-2), in_w = image.size(-1);
  const auto rows = bicubic_weights(in_h, out_h, static_cast<double>(out_h) / in_h);
  const auto cols = bicubic_weights(in_w, out_w, static_cast<double>(out_w) / in_w);
  return apply_along_rows_and_cols(image, rows.to(image.device()), cols.to(image.device()));
}

torch::Tensor resize_bicubic(const torch::Tensor& image, double scale) {
  const int64_t in_h = image.size(-2), in_w = image.size(-1);
  // MATLAB's ceil(in * scale), without letting 255 * (1/3) = 85.00000000000001 round up to 86.
  const auto out_size = [scale](int64_t in) {
    return static_cast<int64_t>(std::ceil(static_cast<double>(in) * scale - 1e-9));
  };
  const int64_t out_h = out_size(in_h), out_w = out_size(in_w);
  const auto rows = bicubic_weights(in_h, out_h, scale);
  const auto cols = bicubic_weights(in_w, out_w, scale);
  return apply_along_rows_and_cols(image, rows.to(image.device()), cols.to(image.device()));
}

}  // namespace srkit
