#include "srkit/io/nifti_file.h"

#include <nifti2_io.h>

#include <memory>

#include <torch/torch.h>

#include "srkit/core/error.h"

namespace srkit {
namespace {

struct ImageFree {
  void operator()(nifti_image* image) const { nifti_image_free(image); }
};

torch::ScalarType voxel_type(int datatype, const std::string& name) {
  switch (datatype) {
    case NIFTI_TYPE_UINT8:
      return torch::kUInt8;
    case NIFTI_TYPE_INT8:
      return torch::kInt8;
    case NIFTI_TYPE_INT16:
      return torch::kInt16;
    case NIFTI_TYPE_INT32:
      return torch::kInt32;
    case NIFTI_TYPE_INT64:
      return torch::kInt64;
    case NIFTI_TYPE_FLOAT32:
      return torch::kFloat32;
    case NIFTI_TYPE_FLOAT64:
      return torch::kFloat64;
    case NIFTI_TYPE_UINT16:
      return torch::kInt32;  // widened below
    default:
      throw input_error(name,
                        "holds NIfTI voxels of type " + std::to_string(datatype) +
                            " (complex, RGB or unsigned 32/64-bit), which srkit does not read",
                        "convert it to a float or integer volume");
  }
}

}  // namespace

NiftiVolume read_nifti(const std::filesystem::path& path) {
  if (!std::filesystem::is_regular_file(path)) {
    throw input_error(path.string(), "does not exist", "check the path");
  }
  nifti_set_debug_level(0);
  std::unique_ptr<nifti_image, ImageFree> image(nifti_image_read(path.c_str(), 1));
  if (!image || !image->data) throw input_error(path.string(), "is not a readable NIfTI file");
  const auto name = path.string();
  const int64_t nx = image->nx, ny = std::max<int64_t>(1, image->ny),
                nz = std::max<int64_t>(1, image->nz);
  const int64_t count = nx * ny * nz;  // the first volume
  NiftiVolume volume;
  volume.datatype = image->datatype;
  volume.spacing = {image->dx, image->dy, image->dz};
  torch::Tensor values;
  if (image->datatype == NIFTI_TYPE_UINT16) {
    values =
        torch::from_blob(image->data, {count}, torch::kInt16).to(torch::kInt32).bitwise_and(0xFFFF);
  } else {
    values = torch::from_blob(image->data, {count}, voxel_type(image->datatype, name)).clone();
  }
  values = values.to(torch::kFloat32).reshape({nz, ny, nx});
  if (image->scl_slope != 0 && (image->scl_slope != 1 || image->scl_inter != 0)) {
    values = values * static_cast<float>(image->scl_slope) + static_cast<float>(image->scl_inter);
  }
  volume.voxels = values.contiguous();
  return volume;
}

torch::Tensor nifti_slice(const NiftiVolume& volume, int axis, int64_t index) {
  const auto& v = volume.voxels;  // [z, y, x]
  const int dim = 2 - axis;       // x -> 2, y -> 1, z -> 0
  if (axis < 0 || axis > 2 || index < 0 || index >= v.size(dim)) {
    throw usage_error("slice " + std::to_string(index) + " across axis " + std::to_string(axis) +
                      " is outside the volume");
  }
  return v.select(dim, index).flip({0}).contiguous();
}

}  // namespace srkit
