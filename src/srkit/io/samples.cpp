#include "srkit/io/samples.h"

#include <torch/torch.h>

namespace srkit {

torch::Tensor unit_float(const torch::Tensor& samples) {
  if (samples.scalar_type() != torch::kUInt8) return samples;
  return samples.to(torch::kFloat32).mul_(1.0 / 255.0);  // the scalar is a float32 in the multiply
}

torch::ScalarType sample_type(int bit_depth) {
  return bit_depth == 8 ? torch::kUInt8 : bit_depth == 16 ? torch::kInt16 : torch::kFloat32;
}

torch::Tensor file_samples(const torch::Tensor& values, int bit_depth) {
  auto clamped = values.to(torch::kFloat32).clamp(0.0, 1.0);
  if (bit_depth == 8) return clamped.mul_(255.0).round_().to(torch::kUInt8);
  if (bit_depth == 16) return clamped.mul_(65535.0).round_().to(torch::kInt32).to(torch::kInt16);
  return clamped;
}

}  // namespace srkit
