// The eight flips and rotations of an image (the dihedral group of the square), used for
// test-time augmentation and for training-patch augmentation.
#pragma once

#include <torch/types.h>

namespace srkit {

// k in 0..7: rotate the last two dimensions by 90 degrees (k mod 4) times, then for k >= 4 flip
// left-right.
torch::Tensor dihedral(const torch::Tensor& image, int k);

// The inverse: dihedral_inverse(dihedral(x, k), k) == x.
torch::Tensor dihedral_inverse(const torch::Tensor& image, int k);

}  // namespace srkit
