#include "srkit/io/nifti_file.h"

#include <nifti2_io.h>

#include <memory>
#include <string>
#include <system_error>

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/io/image_limits.h"

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

// Deflate's largest ratio of output to input is about 1032:1; a .gz holds no more than this many
// times its own size.
constexpr double kMaxDeflateRatio = 1032;

// An input Error when the header declares voxels of a type srkit does not read, more voxels than
// --max-pixels allows, or more bytes than the file can hold (uncompressed: its size; gzip: its
// size times deflate's largest ratio): refused before nifticlib allocates them.
void check_declared_size(const nifti_image& image, const std::filesystem::path& path) {
  voxel_type(image.datatype, path.string());
  const int64_t voxels = image.nvox, bytes_per_voxel = image.nbyper;
  const int64_t limit = max_image_pixels();
  if (voxels < 0 || bytes_per_voxel <= 0 || (limit > 0 && voxels > limit)) {
    throw input_error(path.string(),
                      "declares " + std::to_string(voxels) + " voxels of " +
                          std::to_string(bytes_per_voxel) + " bytes, more than the limit of " +
                          std::to_string(limit) + " (a damaged file?)",
                      "raise {{max_pixels}} if the volume is what you expect");
  }
  // The voxels are in the file itself (.nii) or beside it (.hdr/.img): iname.
  const std::filesystem::path data = image.iname ? image.iname : path.string();
  std::error_code error;
  const auto size = std::filesystem::file_size(data, error);
  const bool compressed = data.extension() == ".gz";
  const double declared =
      static_cast<double>(image.iname_offset) + static_cast<double>(voxels * bytes_per_voxel);
  if (!error && !compressed && static_cast<double>(size) < declared) {
    throw input_error(path.string(), "is shorter than the voxels its header declares",
                      "the file was cut short; copy it again");
  }
  if (!error && compressed && static_cast<double>(size) * kMaxDeflateRatio < declared) {
    throw input_error(path.string(),
                      "declares " + std::to_string(voxels) + " voxels of " +
                          std::to_string(bytes_per_voxel) +
                          " bytes, more than a gzip file of its size can hold (a damaged file?)",
                      "copy it again");
  }
}

}  // namespace

NiftiVolume read_nifti(const std::filesystem::path& path) {
  if (!std::filesystem::is_regular_file(path)) {
    throw input_error(path.string(), "does not exist", "check the path");
  }
  nifti_set_debug_level(0);
  const auto name = path.string();
  // The header first: nifticlib allocates every voxel it declares before reading any.
  std::unique_ptr<nifti_image, ImageFree> image(nifti_image_read(path.c_str(), 0));
  if (!image) throw input_error(name, "is not a readable NIfTI file");
  check_declared_size(*image, path);
  image.reset(nifti_image_read(path.c_str(), 1));
  if (!image || !image->data) throw input_error(name, "is not a readable NIfTI file");
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
