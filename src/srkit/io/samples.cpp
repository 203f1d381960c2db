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
  return file_samples_in_place(values.to(torch::kFloat32, /*non_blocking=*/false, /*copy=*/true),
                               bit_depth);
}

torch::Tensor file_samples_in_place(torch::Tensor values, int bit_depth) {
  TORCH_CHECK(values.scalar_type() == torch::kFloat32, "file samples are made from float32 values");
  values.clamp_(0.0, 1.0);
  if (bit_depth == 8) return values.mul_(255.0).round_().to(torch::kUInt8);
  if (bit_depth == 16) return values.mul_(65535.0).round_().to(torch::kInt32).to(torch::kInt16);
  return values;
}

}  // namespace srkit
