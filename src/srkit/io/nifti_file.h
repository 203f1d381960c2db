// NIfTI-1/2 volumes (.nii, .nii.gz) through nifticlib, as float32 tensors, and 2-D slices of them:
// the MR data of guided super-resolution (docs/guided.md).
//
//   auto volume = srkit::read_nifti("ch2.nii.gz");          // voxels [z, y, x], spacing in mm
//   torch::Tensor slice = srkit::nifti_slice(volume, 2, 90); // axial slice [y, x]
#pragma once

#include <array>
#include <filesystem>

#include <torch/types.h>

namespace srkit {

struct NiftiVolume {
  torch::Tensor voxels;             // [nz, ny, nx] float32, scl_slope/scl_inter applied
  std::array<double, 3> spacing{};  // dx, dy, dz
  int datatype = 0;                 // the stored NIfTI type code
};

// The first 3-D volume of the file (t = 0 for 4-D files). Throws an input Error naming the file
// when it is missing, not NIfTI, or of a type srkit does not read (complex, RGB).
NiftiVolume read_nifti(const std::filesystem::path& path);

// Slice `index` across `axis` (0 = x: sagittal [z, y]; 1 = y: coronal [z, x]; 2 = z: axial
// [y, x]), flipped so that row 0 is the top of the image (the largest y or z).
torch::Tensor nifti_slice(const NiftiVolume& volume, int axis, int64_t index);

}  // namespace srkit
