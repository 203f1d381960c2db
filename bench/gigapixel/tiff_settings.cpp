// TIFF compressions against speed and size, for the choice in src/srkit/io/image_writer.cpp:
// writes one 8-bit RGB image with libtiff, in strips of 256 KB with the horizontal predictor (as
// the writer does), LZW, Deflate at two levels, Zstandard and none.
//   g++ -O2 bench/gigapixel/tiff_settings.cpp -o /tmp/tiff_settings \
//       $(pkg-config --cflags --libs opencv4) -ltiff
//   /tmp/tiff_settings IMAGE.png [SCRATCH.tif]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>

#include "rgb_input.h"
// After OpenCV, whose int64 typedef libtiff's headers mark deprecated.
#include <tiffio.h>

int main(int argc, char** argv) {
  auto [image, scratch] = read_rgb_input(argc, argv, "/tmp/tiff_settings_scratch.tif");
  struct Setting {
    int compression, level;  // level: 0 = the codec's default
    const char* name;
  };
  const Setting settings[] = {
      {COMPRESSION_LZW, 0, "LZW"},
      {COMPRESSION_ADOBE_DEFLATE, 1, "Deflate level 1"},
      {COMPRESSION_ADOBE_DEFLATE, 6, "Deflate level 6"},
      {COMPRESSION_ZSTD, 1, "Zstandard level 1"},
      {COMPRESSION_NONE, 0, "none"},
  };
  const int64_t row_bytes = static_cast<int64_t>(image.cols) * 3;
  const auto rows_per_strip = static_cast<uint32_t>(std::max<int64_t>(1, (256 << 10) / row_bytes));
  std::printf(
      "%dx%d RGB, predictor 2, %u rows per strip\n| compression | seconds | MB |\n|---|---|---|\n",
      image.cols, image.rows, rows_per_strip);
  for (const auto& s : settings) {
    const auto start = std::chrono::steady_clock::now();
    TIFF* tiff = TIFFOpen(scratch, "w");
    if (!tiff) return 1;
    TIFFSetField(tiff, TIFFTAG_IMAGEWIDTH, static_cast<uint32_t>(image.cols));
    TIFFSetField(tiff, TIFFTAG_IMAGELENGTH, static_cast<uint32_t>(image.rows));
    TIFFSetField(tiff, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(tiff, TIFFTAG_SAMPLESPERPIXEL, 3);
    TIFFSetField(tiff, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
    TIFFSetField(tiff, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(tiff, TIFFTAG_COMPRESSION, s.compression);
    if (s.compression != COMPRESSION_NONE) {
      TIFFSetField(tiff, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
    }
    if (s.compression == COMPRESSION_ADOBE_DEFLATE && s.level > 0) {
      TIFFSetField(tiff, TIFFTAG_ZIPQUALITY, s.level);
    }
    if (s.compression == COMPRESSION_ZSTD && s.level > 0) {
      TIFFSetField(tiff, TIFFTAG_ZSTD_LEVEL, s.level);
    }
    TIFFSetField(tiff, TIFFTAG_ROWSPERSTRIP, rows_per_strip);
    for (int y = 0; y < image.rows; ++y) {
      if (TIFFWriteScanline(tiff, image.ptr(y), static_cast<uint32_t>(y), 0) < 0) return 1;
    }
    TIFFClose(tiff);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("| %s | %.2f | %.1f |\n", s.name, seconds,
                static_cast<double>(std::filesystem::file_size(scratch)) / 1e6);
  }
  std::filesystem::remove(scratch);
  return 0;
}
