#include "srkit/models/bicubic_model.h"

#include "srkit/ops/resize.h"

namespace srkit {

BicubicModel::BicubicModel(int64_t scale) {
  card_.name = "bicubic";
  card_.architecture = "MATLAB-compatible bicubic interpolation (no weights)";
  card_.scale = scale;
  card_.receptive_radius = 3;  // the cubic kernel reaches 2 input pixels; one more for rounding
  card_.peak_bytes_per_input_pixel = 4.0 * 3 * 2 * static_cast<double>(scale * scale);
  // Separable: 4 taps per output pixel along each axis, 2 FLOPs per tap.
  card_.flops_per_input_pixel = 3.0 * 2 * 4 * 2 * static_cast<double>(scale * scale);
  card_.licence = "n/a";
  card_.source = "srkit";
}

torch::Tensor BicubicModel::forward(const torch::Tensor& input) {
  return resize_bicubic(input, static_cast<double>(card_.scale));
}

}  // namespace srkit
