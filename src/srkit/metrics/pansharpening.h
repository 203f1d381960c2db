// Multispectral quality indices of pansharpening (and any multi-band SR), as PanCollection and the
// pansharpening literature define them (methods.md section 5). Images are [B, H, W] tensors on a
// common scale; `reference` is the ground truth, `fused` the result.
//
//   double angle = srkit::sam_degrees(fused, reference);       // 0 = same spectra
//   double q = srkit::q2n(fused, reference);                    // 1 = identical
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace srkit {

// Spectral angle mapper in degrees: the mean over pixels (with a nonzero norm product) of the
// angle between the reference and fused spectra.
double sam_degrees(const torch::Tensor& fused, const torch::Tensor& reference);

// ERGAS = (100 / ratio) sqrt(mean over bands of MSE_b / mean(reference_b)^2); ratio = the
// resolution ratio of MS to PAN (4 for Landsat's 30 m / 15 m after the Wald protocol's x4).
double ergas(const torch::Tensor& fused, const torch::Tensor& reference, double ratio);

// Q2^n (Garzelli-Nencini; Q4 for 4 bands): bands as hypercomplex pixels (Cayley-Dickson algebra,
// zero bands appended up to a power of two), the universal quality index of reference and fused
// per `block` x `block` tile (step `block`), averaged over tiles. 1 means identical.
double q2n(const torch::Tensor& fused, const torch::Tensor& reference, int64_t block = 32);

// Spatial correlation coefficient: Pearson correlation of the Laplacian high-passes
// ([[-1,-1,-1],[-1,8,-1],[-1,-1,-1]], valid part) of each band, averaged over bands.
double scc(const torch::Tensor& fused, const torch::Tensor& reference);

// Hypercomplex (Cayley-Dickson) product and conjugate of [B, ...] tensors whose first dimension
// holds the B = 2^n components; exposed for tests.
torch::Tensor hypercomplex_multiply(const torch::Tensor& a, const torch::Tensor& b);
torch::Tensor hypercomplex_conjugate(const torch::Tensor& a);

}  // namespace srkit
