// How guided-SR benchmarks make their low-resolution targets (methods.md section 4, "Dataset
// protocols"), as tensor operations shared by the data loaders, `srkit guide` and the tests:
//   depth  bicubic (MATLAB imresize, antialiased) by x4/x8/x16, unknown pixels filled first;
//   pan    Wald protocol: MTF-matched Gaussian low-pass and decimation by 4;
//   mri    k-space centre cropping (bicubic as an option).
#pragma once

#include <cstdint>
#include <string>

#include <torch/types.h>

#include "srkit/core/guided_task.h"

namespace srkit {

enum class MriDownsampling { kKspace, kBicubic };

// Gains at the Nyquist frequency of the decimated grid used when a sensor's own MTF is not
// known: the pansharpening toolboxes' defaults (Vivone et al.) for multispectral and pan bands.
constexpr double kMsNyquistGain = 0.3;
constexpr double kPanNyquistGain = 0.15;

// The top-left part of `image` ([..., H, W]) whose sides are multiples of `multiple` (the
// benchmarks' "mod crop").
torch::Tensor crop_to_multiple(const torch::Tensor& image, int64_t multiple);

// A copy of a map ([..., H, W]) whose non-finite pixels are filled by push-pull interpolation
// (known-weighted 2x2 means down a pyramid, bilinear back up), so holes take a smooth blend of
// the known values around them; known pixels are unchanged. A plane with no known pixel is an
// error. Depth benchmarks downsample a filled map; the error is still measured on known pixels.
torch::Tensor fill_unknown(const torch::Tensor& map);

// Wald protocol decimation of [..., H, W] by `factor` (sides multiples of it): a Gaussian
// low-pass whose gain at the decimated grid's Nyquist frequency is `nyquist_gain` (sigma =
// factor * sqrt(-2 ln gain) / pi), sampled at the low-resolution pixel centres (the same grid
// alignment as bicubic downscaling), symmetric borders.
torch::Tensor mtf_decimate(const torch::Tensor& image, int64_t factor, double nyquist_gain);

// The [out, in] resampling matrix of mtf_decimate along one axis (rows sum to one), for tests.
torch::Tensor mtf_decimation_weights(int64_t in_length, int64_t factor, double nyquist_gain);

// The low-resolution target of a benchmark pair: `target_hr` is [C, H, W] with sides multiples of
// `scale` (crop_to_multiple first), unknown (NaN) depth pixels allowed.
torch::Tensor degrade_guided_target(GuidedTask task, const torch::Tensor& target_hr, int64_t scale,
                                    MriDownsampling mri = MriDownsampling::kKspace);

MriDownsampling parse_mri_downsampling(const std::string& name);

}  // namespace srkit
