// Speed measurement: a model's achieved GFLOP/s and the machine's own fp32 peak, measured in the
// same run so that their ratio means something on a shared, noisy machine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "srkit/models/model.h"

namespace srkit {

struct Timing {
  std::vector<double> seconds;  // one per repeat, after the warm-up
  double median_seconds = 0;
  double gflop = 0;  // work per repeat
  double gflops() const { return median_seconds > 0 ? gflop / median_seconds : 0; }
};

// The machine's reference rates: a large 3x3 convolution (64 -> 64 channels on 256x256, the shape
// of SR bodies) in the given memory layout and a 2048^3 float32 GEMM.
Timing measure_conv_peak(const torch::Device& device, bool channels_last, int warmup, int repeats);
Timing measure_gemm_peak(const torch::Device& device, int warmup, int repeats);

// The model's forward pass on a random [1, in_channels, size, size] input (no tiling).
Timing measure_model(Model& model, int64_t size, const torch::Device& device, int warmup,
                     int repeats);

}  // namespace srkit
