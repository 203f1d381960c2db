// Multi-band rasters (GeoTIFF and every other format GDAL reads) as float32 tensors: the
// multispectral and panchromatic images of pansharpening (docs/guided.md).
//
//   auto ms = srkit::read_raster("L7_ETMs.tif");   // ms.bands [6, 352, 349], native values
#pragma once

#include <array>
#include <filesystem>
#include <string>

#include <torch/types.h>

namespace srkit {

struct Raster {
  torch::Tensor bands;                   // [bands, rows, columns] float32, values as stored
  std::string data_type;                 // GDAL's name of the stored type ("UInt16", "Byte", ...)
  std::array<double, 6> geotransform{};  // GDAL's affine pixel -> map transform (0s if none)
  double pixel_size = 0;                 // |geotransform[1]|, map units per pixel (0 if none)
  std::string projection;                // the coordinate system as WKT ("" if none)
};

// Throws an input Error naming the file when GDAL cannot open it.
Raster read_raster(const std::filesystem::path& path);

// Writes `raster.bands` as a float32 GeoTIFF with its geotransform and projection (when set),
// atomically; refuses to replace an existing file unless `overwrite`.
void write_raster(const std::filesystem::path& path, const Raster& raster, bool overwrite = false);

}  // namespace srkit
