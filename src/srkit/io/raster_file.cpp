#include "srkit/io/raster_file.h"

#include <gdal.h>

#include <cmath>
#include <memory>
#include <mutex>

#include <torch/torch.h>

#include "srkit/core/element_count.h"
#include "srkit/core/error.h"
#include "srkit/io/atomic_file.h"
#include "srkit/io/image_limits.h"

namespace srkit {

namespace {

void register_drivers() {
  static std::once_flag registered;
  std::call_once(registered, [] {
    GDALAllRegister();
    CPLSetErrorHandler(CPLQuietErrorHandler);  // errors reach the user through srkit's message
  });
}

struct CloseDataset {
  void operator()(void* dataset) const { GDALClose(dataset); }
};

// The samples a raster of `bands` x `rows` x `columns` declares, refused before any is allocated
// when the file says more than a stranger's file may: each band within the pixel limit
// (--max-pixels), and all of them within four times it (what an RGBA image at the limit holds).
void check_raster_size(const std::filesystem::path& path, int bands, int rows, int columns) {
  check_image_pixels(path, columns, rows);
  const int64_t limit = max_image_pixels();
  if (limit <= 0) return;
  if (!element_count({bands, rows, columns}, 4 * limit)) {
    throw input_error(path.string(),
                      "declares " + std::to_string(bands) + " bands of " + std::to_string(columns) +
                          "x" + std::to_string(rows) +
                          " pixels, more samples than 4 x the pixel limit (a damaged file?)",
                      "raise {{max_pixels}} if the raster is what you expect");
  }
}

}  // namespace

Raster read_raster(const std::filesystem::path& path) {
  register_drivers();
  if (!std::filesystem::is_regular_file(path)) {
    throw input_error(path.string(), "does not exist", "check the path");
  }
  const std::unique_ptr<void, CloseDataset> opened(GDALOpen(path.c_str(), GA_ReadOnly));
  GDALDatasetH dataset = opened.get();
  if (!dataset) {
    throw input_error(path.string(),
                      std::string("is not a raster GDAL can read (") + CPLGetLastErrorMsg() + ")");
  }
  const int count = GDALGetRasterCount(dataset);
  const int rows = GDALGetRasterYSize(dataset), columns = GDALGetRasterXSize(dataset);
  check_raster_size(path, count, rows, columns);
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
  GDALDatasetH dataset = driver ? GDALCreate(driver, out.temp_path().c_str(), columns, rows, count,
                                             GDT_Float32, nullptr)
                                : nullptr;
  if (!dataset) {
    throw output_error(path.string(),
                       std::string("cannot be created (") + CPLGetLastErrorMsg() + ")",
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
                      const_cast<float*>(bands[b].data_ptr<float>()), columns, rows, GDT_Float32, 0,
                      0) == CE_None;
  }
  GDALClose(dataset);  // flushes
  if (!ok) {
    throw output_error(path.string(),
                       std::string("cannot be written (") + CPLGetLastErrorMsg() + ")",
                       "check the folder and disk space");
  }
  out.commit();
}

}  // namespace srkit
