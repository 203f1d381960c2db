// A user's guided-SR inputs and outputs in the formats they come in: depth maps (16-bit/float
// PNG/TIFF, .npy/.npz, ViSP .bin), photographs, multi-band GeoTIFF (anything GDAL reads), NIfTI
// volumes (one 2-D slice) and MR slices as images.
//
//   auto target = srkit::read_guided_file("ms.tif", srkit::GuidedTask::kPan, /*is_target=*/true);
//   srkit::write_guided_result("fused.tif", result, target, guide, /*overwrite=*/false);
#pragma once

#include <filesystem>
#include <string>

#include <torch/types.h>

#include "srkit/core/guided_task.h"
#include "srkit/io/raster_file.h"

namespace srkit {

enum class GuidedFileKind { kImage, kDepthMap, kRaster, kNifti, kNumpy };

struct GuidedFile {
  torch::Tensor values;  // [C, H, W]: images in [0,1]; depth, rasters, NIfTI, NumPy as stored
  GuidedFileKind kind = GuidedFileKind::kImage;
  int bit_depth = 0;    // images and PNG/TIFF depth maps: the stored bit depth
  Raster georeference;  // rasters: geotransform and projection (bands left empty)
};

// Whether the file's extension is one read_guided_file reads (images, .npy/.npz, ViSP .bin,
// rasters, NIfTI): what a folder of guided results contributes.
bool is_guided_file_path(const std::filesystem::path& path);

// Reads a target (`is_target`) or guide for `task`. `slice` picks a NIfTI slice, "AXIS:INDEX"
// with AXIS x, y or z ("" = the middle axial slice). MR inputs become one channel (an RGB-stored
// gray image's first channel). Throws an input Error naming the file and the fix.
GuidedFile read_guided_file(const std::filesystem::path& path, GuidedTask task, bool is_target,
                            const std::string& slice = "");

// Writes a result in the format of the extension, atomically: .npy (float32), .tif/.tiff
// (float32 GeoTIFF, georeferenced like the guide when it is a raster), or an image format (values
// in the target's own scale: [0,1] images at the target's bit depth; depth maps in stored integer
// units as 16-bit PNG/TIFF). An image format that would lose the values is refused.
void write_guided_result(const std::filesystem::path& path, const torch::Tensor& result,
                         const GuidedFile& target, const GuidedFile& guide, bool overwrite);

}  // namespace srkit
