// The Real-ESRGAN second-order degradation (Wang et al., ICCVW 2021) that makes realistic
// low-resolution training inputs: two rounds of blur, random resize, Gaussian or Poisson noise
// (colour or gray) and JPEG, then a resize to the target size with a final sinc filter, in random
// order with the last JPEG. The parameter ranges are the standard ones (Real-ESRGAN's and
// OSEDiff's params_realesrgan). JPEG goes through OpenCV, so this lives beside the image I/O.
//
//   srkit::RealEsrganSettings settings;                 // standard ranges
//   nlohmann::json record;                              // what was drawn, for inspection
//   auto lr = srkit::realesrgan_degrade(hr, 4, /*seed=*/7, settings, &record);
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include "srkit/data/blur_kernels.h"

namespace srkit {

struct DegradationStage {
  BlurSettings blur;
  double blur_probability = 1.0;
  std::vector<double> resize_probability = {0.2, 0.7, 0.1};  // up, down, keep
  double resize_min = 0.15, resize_max = 1.5;
  double gaussian_noise_probability = 0.5;           // else Poisson
  double noise_sigma_min = 1, noise_sigma_max = 30;  // on the 0..255 scale
  double poisson_scale_min = 0.05, poisson_scale_max = 3;
  double gray_noise_probability = 0.4;
  int jpeg_quality_min = 30, jpeg_quality_max = 95;
};

// The second round's standard ranges: weaker blur (sigma <= 1.5, applied with probability 0.8),
// resize 0.3..1.2 (up/down/keep 0.3/0.4/0.3), noise sigma <= 25, Poisson scale <= 2.5.
DegradationStage realesrgan_second_stage();

struct RealEsrganSettings {
  DegradationStage first;
  DegradationStage second = realesrgan_second_stage();
  double final_sinc_probability = 0.8;
};

// hr: [3,H,W] in [0,1]. Returns [3, H/scale, W/scale] (sides rounded down) in [0,1], quantised to
// 8 bits as a saved file would be. The same seed gives the same result. `record`, when given,
// receives the drawn parameters of every step in order.
torch::Tensor realesrgan_degrade(const torch::Tensor& hr, int64_t scale, uint64_t seed,
                                 const RealEsrganSettings& settings,
                                 nlohmann::json* record = nullptr);
// With the standard settings.
torch::Tensor realesrgan_degrade(const torch::Tensor& hr, int64_t scale, uint64_t seed);

// JPEG-compresses [C,H,W] in [0,1] at `quality` (OpenCV's encoder) and decodes it again.
torch::Tensor jpeg_roundtrip(const torch::Tensor& image, int quality);

}  // namespace srkit
