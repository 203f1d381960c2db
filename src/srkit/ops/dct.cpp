#include "srkit/ops/dct.h"

#include <cmath>

#include <torch/torch.h>

namespace srkit {

torch::Tensor dct_matrix(int64_t n, const torch::TensorOptions& options) {
  const auto wide = torch::TensorOptions().dtype(torch::kFloat64);
  const auto u = torch::arange(n, wide).view({n, 1});
  const auto x = torch::arange(n, wide).view({1, n});
  auto d = torch::cos(M_PI * u * (x + 0.5) / static_cast<double>(n)) *
           std::sqrt(2.0 / static_cast<double>(n));
  d[0] /= std::sqrt(2.0);
  return d.to(options.has_dtype() ? options : options.dtype(torch::kFloat32));
}

torch::Tensor dct2(const torch::Tensor& x) {
  const auto options = x.options();
  const auto rows = dct_matrix(x.size(-2), options), cols = dct_matrix(x.size(-1), options);
  return torch::matmul(torch::matmul(rows, x), cols.t());
}

}  // namespace srkit
