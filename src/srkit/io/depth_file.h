// Depth and disparity maps in the forms real data ships in: 16-bit or float PNG/TIFF, NumPy
// .npy/.npz, and ViSP's raw depth (.bin: uint32 LE height, uint32 LE width, then height*width
// uint16 LE, as in visp-images-data's Castle-simu).
//
//   torch::Tensor d = srkit::read_depth_map("motorcycle_disp.npz");  // [H, W], NaN = unknown
#pragma once

#include <filesystem>

#include <torch/types.h>

#include "srkit/io/image_io.h"

namespace srkit {

// [H, W] float32 in the file's own units (16-bit PNGs: the stored integers, not 0..1). Unknown
// pixels (non-finite values) are NaN. A .npz must hold one array, or one named arr_0.
torch::Tensor read_depth_map(const std::filesystem::path& path);

// The depth map an image already read holds (its first channel; 8/16-bit as the stored integers),
// for a caller that also needs the image's bit depth.
torch::Tensor depth_from_image(const Image& image);

}  // namespace srkit
