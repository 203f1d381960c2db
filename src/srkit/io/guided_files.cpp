#include "srkit/io/guided_files.h"

#include <algorithm>
#include <cctype>

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/io/depth_file.h"
#include "srkit/io/image_io.h"
#include "srkit/io/nifti_file.h"
#include "srkit/io/numpy_file.h"

namespace srkit {
namespace {

namespace fs = std::filesystem;

std::string lower_extension(const fs::path& path) {
  std::string name = path.filename().string();
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (name.size() > 7 && name.compare(name.size() - 7, 7, ".nii.gz") == 0) return ".nii.gz";
  const auto dot = name.rfind('.');
  return dot == std::string::npos ? "" : name.substr(dot);
}

bool is_raster_extension(const std::string& ext) {
  return ext == ".tif" || ext == ".tiff" || ext == ".img" || ext == ".jp2" || ext == ".vrt";
}

torch::Tensor nifti_values(const fs::path& path, const std::string& slice) {
  const auto volume = read_nifti(path);
  int axis = 2;
  int64_t index = volume.voxels.size(0) / 2;
  if (!slice.empty()) {
    const auto colon = slice.find(':');
    const std::string name = slice.substr(0, colon);
    axis = name == "x" ? 0 : name == "y" ? 1 : name == "z" ? 2 : -1;
    try {
      if (axis < 0 || colon == std::string::npos) throw std::invalid_argument(slice);
      index = std::stoll(slice.substr(colon + 1));
    } catch (const std::exception&) {
      throw usage_error("{{slice}} " + slice + ": write AXIS:INDEX, e.g. z:90");
    }
  }
  const int64_t count = volume.voxels.size(2 - axis);  // voxels are [z, y, x]
  if (index < 0 || index >= count) {
    throw input_error(path.string(), "has " + std::to_string(count) + " slices across that axis",
                      "pick an index below " + std::to_string(count));
  }
  return nifti_slice(volume, axis, index).unsqueeze(0);
}

// MR slices are one contrast: a gray image stored as RGB gives its first channel, a colour image
// its mean.
torch::Tensor one_channel(const torch::Tensor& values) {
  if (values.size(0) == 1) return values;
  const auto rgb = values.slice(0, 0, std::min<int64_t>(3, values.size(0)));
  if (torch::equal(rgb[0], rgb[rgb.size(0) - 1])) return rgb.slice(0, 0, 1);
  return rgb.mean(0, true);
}

}  // namespace

bool is_guided_file_path(const fs::path& path) {
  const std::string ext = lower_extension(path);
  return ext == ".nii" || ext == ".nii.gz" || ext == ".npy" || ext == ".npz" || ext == ".bin" ||
         is_raster_extension(ext) || is_image_path(path);
}

GuidedFile read_guided_file(const fs::path& path, GuidedTask task, bool is_target,
                            const std::string& slice) {
  if (!fs::is_regular_file(path))
    throw input_error(path.string(), "does not exist", "check the path");
  const std::string ext = lower_extension(path);
  GuidedFile file;
  if (ext == ".nii" || ext == ".nii.gz") {
    file.kind = GuidedFileKind::kNifti;
    file.values = nifti_values(path, slice);
  } else if (ext == ".npy") {
    file.kind = GuidedFileKind::kNumpy;
    file.values = read_npy(path);
  } else if (ext == ".npz" || ext == ".bin") {
    file.kind = GuidedFileKind::kDepthMap;
    file.values = read_depth_map(path);
  } else if (is_raster_extension(ext) && (task == GuidedTask::kPan || !is_image_path(path))) {
    auto raster = read_raster(path);
    file.kind = GuidedFileKind::kRaster;
    file.values = raster.bands;
    raster.bands = torch::Tensor();
    file.georeference = raster;
  } else if (task == GuidedTask::kDepth && is_target) {
    const auto image = read_image(path);
    file.kind = GuidedFileKind::kDepthMap;
    file.values = depth_from_image(image);
    file.bit_depth = image.bit_depth;
  } else {
    const auto image = read_image(path);
    file.kind = GuidedFileKind::kImage;
    file.bit_depth = image.bit_depth;
    file.values = image.pixels.size(0) == 4 || image.pixels.size(0) == 2
                      ? image.pixels.slice(0, 0, image.pixels.size(0) - 1)  // alpha dropped
                      : image.pixels;
  }
  if (file.values.dim() == 2) file.values = file.values.unsqueeze(0);
  if (file.values.dim() != 3) {
    throw input_error(path.string(),
                      "holds an array of " + std::to_string(file.values.dim()) + " dimensions",
                      "give a [H,W] or [C,H,W] array");
  }
  if (task == GuidedTask::kMri) file.values = one_channel(file.values);
  if (task == GuidedTask::kDepth && is_target && file.values.size(0) != 1) {
    throw input_error(path.string(), "has " + std::to_string(file.values.size(0)) + " channels",
                      "give a one-channel depth or disparity map");
  }
  if (task == GuidedTask::kPan && !is_target && file.values.size(0) != 1) {
    throw input_error(path.string(), "has " + std::to_string(file.values.size(0)) + " bands",
                      "give the one-band panchromatic image as the guide");
  }
  file.values = file.values.to(torch::kFloat).contiguous();
  return file;
}

void write_guided_result(const fs::path& path, const torch::Tensor& result,
                         const GuidedFile& target, const GuidedFile& guide, bool overwrite) {
  const std::string ext = lower_extension(path);
  if (ext == ".npy") {
    write_npy(path, result.size(0) == 1 ? result[0] : result, overwrite);
    return;
  }
  if (ext == ".tif" || ext == ".tiff") {
    Raster raster = guide.kind == GuidedFileKind::kRaster ? guide.georeference : Raster{};
    raster.bands = result;
    write_raster(path, raster, overwrite);
    return;
  }
  if (!is_image_path(path)) {
    throw usage_error(path.string() + ": write .npy, .tif or an image format (.png)");
  }
  if (target.kind == GuidedFileKind::kImage) {
    write_image(path, result.clamp(0, 1), target.bit_depth, {.overwrite = overwrite});
    return;
  }
  if (target.kind == GuidedFileKind::kDepthMap && target.bit_depth == 16 && result.size(0) == 1) {
    write_image(path, result / 65535.0, 16, {.overwrite = overwrite});
    return;
  }
  throw usage_error(path.string() + ": an image file would lose this result's values (" +
                    "the target is not an image); write .tif or .npy");
}

}  // namespace srkit
