#include "srkit/metrics/pansharpening.h"

#include <cmath>

#include <torch/torch.h>

namespace srkit {
namespace {

void check_pair(const torch::Tensor& fused, const torch::Tensor& reference) {
  TORCH_CHECK(fused.dim() == 3 && fused.sizes() == reference.sizes(),
              "multispectral metrics need two [B,H,W] images of the same size, got ", fused.sizes(),
              " and ", reference.sizes());
}

}  // namespace

double sam_degrees(const torch::Tensor& fused, const torch::Tensor& reference) {
  check_pair(fused, reference);
  const auto f = fused.to(torch::kDouble), r = reference.to(torch::kDouble);
  const auto dot = (f * r).sum(0);
  const auto norms = f.norm(2, 0) * r.norm(2, 0);
  const auto valid = norms > 0;
  if (valid.sum().item<int64_t>() == 0) return 0.0;
  const auto cosine = (dot.masked_select(valid) / norms.masked_select(valid)).clamp(-1, 1);
  return torch::acos(cosine).mean().item<double>() * 180.0 / M_PI;
}

double ergas(const torch::Tensor& fused, const torch::Tensor& reference, double ratio) {
  check_pair(fused, reference);
  const auto f = fused.to(torch::kDouble), r = reference.to(torch::kDouble);
  const auto mse = (f - r).pow(2).mean({1, 2});
  const auto mean = r.mean({1, 2});
  return 100.0 / ratio * std::sqrt((mse / mean.pow(2)).mean().item<double>());
}

torch::Tensor hypercomplex_conjugate(const torch::Tensor& a) {
  auto out = -a;
  out[0] = a[0];
  return out;
}

// (p, q)(r, s) = (p r - s* q, s p + q r*) on the halves of the components.
torch::Tensor hypercomplex_multiply(const torch::Tensor& a, const torch::Tensor& b) {
  const int64_t n = a.size(0);
  if (n == 1) return a * b;
  const int64_t h = n / 2;
  const auto p = a.slice(0, 0, h), q = a.slice(0, h), r = b.slice(0, 0, h), s = b.slice(0, h);
  return torch::cat(
      {hypercomplex_multiply(p, r) - hypercomplex_multiply(hypercomplex_conjugate(s), q),
       hypercomplex_multiply(s, p) + hypercomplex_multiply(q, hypercomplex_conjugate(r))},
      0);
}

double q2n(const torch::Tensor& fused, const torch::Tensor& reference, int64_t block) {
  check_pair(fused, reference);
  int64_t bands = 1;
  while (bands < fused.size(0)) bands *= 2;
  const auto pad = [&](const torch::Tensor& x) {
    auto d = x.to(torch::kDouble);
    if (d.size(0) == bands) return d;
    return torch::cat({d, torch::zeros({bands - d.size(0), d.size(1), d.size(2)}, d.options())});
  };
  const auto z1 = pad(reference), z2 = pad(fused);
  const int64_t rows = z1.size(1) / block, columns = z1.size(2) / block;
  TORCH_CHECK(rows > 0 && columns > 0, "q2n needs images of at least ", block, "x", block);
  // Tiles as a batch: [bands, tiles, block*block].
  const auto tiles = [&](const torch::Tensor& z) {
    return z.slice(1, 0, rows * block)
        .slice(2, 0, columns * block)
        .reshape({bands, rows, block, columns, block})
        .permute({0, 1, 3, 2, 4})
        .reshape({bands, rows * columns, block * block});
  };
  const auto a = tiles(z1), b = tiles(z2);
  const auto mean_a = a.mean(2, true), mean_b = b.mean(2, true);
  const auto da = a - mean_a, db = b - mean_b;
  const double n = static_cast<double>(block * block);
  // Unbiased moments as in the reference implementation; the factors cancel in Q except here.
  const auto var_a = da.pow(2).sum(at::IntArrayRef{0, 2}) / (n - 1);
  const auto var_b = db.pow(2).sum(at::IntArrayRef{0, 2}) / (n - 1);
  const auto cov = hypercomplex_multiply(da, hypercomplex_conjugate(db)).sum(2) / (n - 1);
  const auto cov_modulus = cov.pow(2).sum(0).sqrt();
  const auto ma2 = mean_a.squeeze(2).pow(2).sum(0), mb2 = mean_b.squeeze(2).pow(2).sum(0);
  const auto q = 4 * cov_modulus * ma2.sqrt() * mb2.sqrt() / ((var_a + var_b) * (ma2 + mb2));
  // Constant, identical tiles (0/0) count as perfect.
  const auto scores = torch::where(torch::isfinite(q), q, torch::ones_like(q));
  return scores.mean().item<double>();
}

double scc(const torch::Tensor& fused, const torch::Tensor& reference) {
  check_pair(fused, reference);
  const auto kernel = torch::tensor({-1., -1., -1., -1., 8., -1., -1., -1., -1.}, torch::kDouble)
                          .view({1, 1, 3, 3});
  const auto high_pass = [&](const torch::Tensor& x) {
    return torch::conv2d(x.to(torch::kDouble).unsqueeze(1), kernel).squeeze(1).flatten(1);
  };
  const auto f = high_pass(fused), r = high_pass(reference);
  const auto fc = f - f.mean(1, true), rc = r - r.mean(1, true);
  const auto correlation = (fc * rc).sum(1) / (fc.norm(2, 1) * rc.norm(2, 1));
  return correlation.mean().item<double>();
}

}  // namespace srkit
