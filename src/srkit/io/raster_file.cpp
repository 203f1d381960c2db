#include "srkit/io/raster_file.h"

#include <gdal.h>

#include <cmath>
#include <mutex>

#include <torch/torch.h>

#include "srkit/core/error.h"

namespace srkit {

Raster read_raster(const std::filesystem::path& path) {
  static std::once_flag registered;
  std::call_once(registered, [] {
    GDALAllRegister();
    CPLSetErrorHandler(CPLQuietErrorHandler);  // errors reach the user through srkit's message
  });
  if (!std::filesystem::is_regular_file(path)) {
    throw input_error(path.string(), "does not exist", "check the path");
  }
  GDALDatasetH dataset = GDALOpen(path.c_str(), GA_ReadOnly);
  if (!dataset) {
    throw input_error(path.string(),
                      std::string("is not a raster GDAL can read (") + CPLGetLastErrorMsg() + ")");
  }
  const int count = GDALGetRasterCount(dataset);
  const int rows = GDALGetRasterYSize(dataset), columns = GDALGetRasterXSize(dataset);
  Raster raster;
  raster.bands = torch::empty({count, rows, columns}, torch::kFloat32);
  bool ok = count > 0;
  for (int b = 0; ok && b < count; ++b) {
    GDALRasterBandH band = GDALGetRasterBand(dataset, b + 1);
    if (b == 0) raster.data_type = GDALGetDataTypeName(GDALGetRasterDataType(band));
    ok = GDALRasterIO(band, GF_Read, 0, 0, columns, rows, raster.bands[b].data_ptr<float>(),
                      columns, rows, GDT_Float32, 0, 0) == CE_None;
  }
  if (GDALGetGeoTransform(dataset, raster.geotransform.data()) == CE_None) {
    raster.pixel_size = std::abs(raster.geotransform[1]);
  } else {
    raster.geotransform = {};
  }
  GDALClose(dataset);
  if (!ok) {
    throw input_error(path.string(),
                      std::string("could not be read (") + CPLGetLastErrorMsg() + ")");
  }
  return raster;
}

}  // namespace srkit
