// The orthonormal DCT-II (the "DCT" of JPEG and of scipy.fft.dct(norm='ortho')) over the last two
// dimensions, as a product with basis matrices: exact, differentiable, and fast enough for training
// patches (O(H^2 W + H W^2)). Its implicit boundary is even (Neumann), unlike the FFT's periodic
// one.
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace srkit {

// [n, n] matrix D with D[u][x] = c_u cos(pi u (x + 1/2) / n), c_0 = sqrt(1/n), c_u = sqrt(2/n):
// D D^T = I.
torch::Tensor dct_matrix(int64_t n, const torch::TensorOptions& options = {});

// D_H x D_W^T for every [..., H, W] plane.
torch::Tensor dct2(const torch::Tensor& x);

}  // namespace srkit
