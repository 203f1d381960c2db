// Full-reference image metrics with the evaluation protocol of DESIGN.md: BT.601 Y on the 0..255
// scale (or every channel), border cropped, float64.
//
//   srkit::MetricOptions protocol{.crop_border = 4, .y_channel = true};
//   double db = srkit::psnr(sr, hr, protocol);   // [C,H,W] tensors in [0,1]
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace srkit {

struct MetricOptions {
  int64_t crop_border = 0;  // pixels removed from every side; SR papers use the scale factor
  bool y_channel = true;    // compare BT.601 Y (3-channel inputs) instead of every channel
};

// The compared planes: [C,H,W] float64 on the 0..255 scale, Y or all channels, cropped. Throws a
// c10::Error when the shapes differ or the crop leaves nothing.
torch::Tensor metric_planes(const torch::Tensor& image, const MetricOptions& options);

// 10 log10(255^2 / MSE); +infinity for identical images.
double psnr(const torch::Tensor& test, const torch::Tensor& reference,
            const MetricOptions& options);

// PSNR over the pixels of `mask` ([H,W] bool) only, every channel (the protocol's y_channel and
// crop_border do not apply): +infinity when they match exactly, NaN for an empty mask. Confidence
// masks are judged by it.
double psnr_in_mask(const torch::Tensor& test, const torch::Tensor& reference,
                    const torch::Tensor& mask);

// Mean SSIM (Wang et al. 2004) with an 11x11 Gaussian window, sigma 1.5, 'valid' filtering,
// C1 = (0.01*255)^2, C2 = (0.03*255)^2; the mean over channels when not on Y.
double ssim(const torch::Tensor& test, const torch::Tensor& reference,
            const MetricOptions& options);

// The per-pixel SSIM map, [C, H-10, W-10] after cropping, for visualising where quality is lost.
torch::Tensor ssim_map(const torch::Tensor& test, const torch::Tensor& reference,
                       const MetricOptions& options);

// Log-spectral distance in dB on Y in [0,1]: P = |FFT2|^2,
// sqrt(mean over frequencies of (10 log10((P_ref + 1e-8) / (P_test + 1e-8)))^2), mean over channels
// when not on Y.
double lsd(const torch::Tensor& test, const torch::Tensor& reference, const MetricOptions& options);

}  // namespace srkit
