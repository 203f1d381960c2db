#include "srkit/io/raster_file.h"

#include <gdal.h>

#include <cmath>
#include <mutex>

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/io/atomic_file.h"

namespace srkit {

namespace {

void register_drivers() {
  static std::once_flag registered;
  std::call_once(registered, [] {
    GDALAllRegister();
    CPLSetErrorHandler(CPLQuietErrorHandler);  // errors reach the user through srkit's message
  });
}

}  // namespace

Raster read_raster(const std::filesystem::path& path) {
  register_drivers();
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
  if (const char* wkt = GDALGetProjectionRef(dataset)) raster.projection = wkt;
  GDALClose(dataset);
  if (!ok) {
    throw input_error(path.string(),
                      std::string("could not be read (") + CPLGetLastErrorMsg() + ")");
  }
  return raster;
}

void write_raster(const std::filesystem::path& path, const Raster& raster, bool overwrite) {
  register_drivers();
  if (!overwrite && std::filesystem::exists(path)) {
    throw output_error(path.string(), "already exists", "choose another name or add {{overwrite}}");
  }
  const auto bands = raster.bands.to(torch::kFloat32).contiguous();
  const int count = static_cast<int>(bands.size(0));
  const int rows = static_cast<int>(bands.size(1)), columns = static_cast<int>(bands.size(2));
  AtomicOutput out(path);
  GDALDriverH driver = GDALGetDriverByName("GTiff");
  GDALDatasetH dataset =
      driver ? GDALCreate(driver, out.temp_path().c_str(), columns, rows, count, GDT_Float32, nullptr)
             : nullptr;
  if (!dataset) {
    throw output_error(path.string(), std::string("cannot be created (") + CPLGetLastErrorMsg() + ")",
                       "check that the folder is writable");
  }
  bool ok = true;
  if (raster.geotransform != std::array<double, 6>{}) {
    auto transform = raster.geotransform;
    ok = GDALSetGeoTransform(dataset, transform.data()) == CE_None;
  }
  if (ok && !raster.projection.empty()) {
    ok = GDALSetProjection(dataset, raster.projection.c_str()) == CE_None;
  }
  for (int b = 0; ok && b < count; ++b) {
    ok = GDALRasterIO(GDALGetRasterBand(dataset, b + 1), GF_Write, 0, 0, columns, rows,
                      const_cast<float*>(bands[b].data_ptr<float>()), columns, rows, GDT_Float32,
                      0, 0) == CE_None;
  }
  GDALClose(dataset);  // flushes
  if (!ok) {
    throw output_error(path.string(), std::string("cannot be written (") + CPLGetLastErrorMsg() + ")",
                       "check the folder and disk space");
  }
  out.commit();
}

}  // namespace srkit
