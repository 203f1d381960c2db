// libFuzzer target for the rasters srkit reads through GDAL (read_raster: the multispectral and
// panchromatic GeoTIFFs of pansharpening, and any other format GDAL opens). The input is written
// as a .tif file. A reader may refuse an input only with srkit's own Error. GDAL itself is
// Debian's (not instrumented): its code is reached by mutation alone, srkit's with coverage.
// The pixel limit is 16 Mpx here, so that every size it lets through fits in the 4 GB the fuzzer
// allows. Built and run by bench/fuzz.sh.
#include <cstdint>

#include <torch/torch.h>

#include "scratch_file.h"
#include "srkit/core/error.h"
#include "srkit/io/image_limits.h"
#include "srkit/io/raster_file.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  srkit::set_max_image_pixels(int64_t{1} << 24);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto raster = srkit::read_raster(scratch_file(data, size, ".tif"));
    if (raster.bands.numel() > 0) raster.bands.sum().item<float>();  // every sample was written
  } catch (const srkit::Error&) {
  }
  return 0;
}
