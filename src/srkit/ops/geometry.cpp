#include "srkit/ops/geometry.h"

#include <torch/torch.h>

namespace srkit {

torch::Tensor dihedral(const torch::Tensor& image, int k) {
  TORCH_CHECK(k >= 0 && k < 8, "dihedral index must be in 0..7, got ", k);
  const auto rotated = torch::rot90(image, k % 4, {-2, -1});
  return (k >= 4 ? rotated.flip({-1}) : rotated).contiguous();
}

torch::Tensor dihedral_inverse(const torch::Tensor& image, int k) {
  TORCH_CHECK(k >= 0 && k < 8, "dihedral index must be in 0..7, got ", k);
  const auto unflipped = k >= 4 ? image.flip({-1}) : image;
  return torch::rot90(unflipped, -(k % 4), {-2, -1}).contiguous();
}

}  // namespace srkit
