// Classical pansharpening by component substitution (Vivone et al., "A critical comparison among
// pansharpening algorithms", 2015): the multispectral image, upsampled to the pan's grid, gets the
// pan's detail injected through an intensity component I = the mean of its bands. The pan is first
// matched to I (same mean and standard deviation).
//
//   auto fused = srkit::gram_schmidt_pansharpen(ms_upsampled, pan);   // [B,H,W], [1,H,W]
#pragma once

#include <torch/types.h>

namespace srkit {

// Brovey transform: fused_b = ms_b * pan' / I (pixels where I is 0 keep ms_b).
torch::Tensor brovey_pansharpen(const torch::Tensor& ms_upsampled, const torch::Tensor& pan);

// Generalized (fast) IHS: fused_b = ms_b + (pan' - I).
torch::Tensor gihs_pansharpen(const torch::Tensor& ms_upsampled, const torch::Tensor& pan);

// Gram-Schmidt (mode 1, as the toolbox's GS): fused_b = ms_b + g_b (pan' - I) with the injection
// gains g_b = cov(ms_b, I) / var(I).
torch::Tensor gram_schmidt_pansharpen(const torch::Tensor& ms_upsampled, const torch::Tensor& pan);

}  // namespace srkit
