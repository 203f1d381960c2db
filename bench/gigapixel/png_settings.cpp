// PNG encoder settings against speed and size, for the choice in src/srkit/io/image_writer.cpp:
// encodes one 8-bit RGB image with libpng at several zlib levels, filters and strategies.
//   g++ -O2 bench/gigapixel/png_settings.cpp -o /tmp/png_settings \
//       $(pkg-config --cflags --libs opencv4 libpng) -lz
//   /tmp/png_settings IMAGE.png [SCRATCH.png]
#include <png.h>
#include <zlib.h>

#include <chrono>
#include <cstdio>

#include "rgb_input.h"

int main(int argc, char** argv) {
  auto [image, scratch] = read_rgb_input(argc, argv, "/tmp/png_settings_scratch.png");
  struct Setting {
    int level, filters, strategy;
    const char* name;
  };
  const Setting settings[] = {
      {3, PNG_ALL_FILTERS, Z_FILTERED, "level 3, adaptive filters"},
      {1, PNG_ALL_FILTERS, Z_FILTERED, "level 1, adaptive filters"},
      {1, PNG_FILTER_SUB, Z_RLE, "level 1, Sub, RLE"},
      {1, PNG_FILTER_SUB, Z_FILTERED, "level 1, Sub"},
      {1, PNG_FILTER_UP, Z_FILTERED, "level 1, Up"},
      {1, PNG_FILTER_PAETH, Z_FILTERED, "level 1, Paeth"},
      {3, PNG_FILTER_PAETH, Z_FILTERED, "level 3, Paeth"},
  };
  std::printf("%dx%d RGB\n| setting | seconds | MB |\n|---|---|---|\n", image.cols, image.rows);
  for (const auto& s : settings) {
    FILE* file = std::fopen(scratch, "wb");
    if (!file) return 1;
    const auto start = std::chrono::steady_clock::now();
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png_create_info_struct(png);
    png_init_io(png, file);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_set_compression_level(png, s.level);
    png_set_compression_strategy(png, s.strategy);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, s.filters);
    png_set_IHDR(png, info, image.cols, image.rows, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < image.rows; ++y) png_write_row(png, image.ptr(y));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    const long bytes = std::ftell(file);
    std::fclose(file);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("| %s | %.2f | %.1f |\n", s.name, seconds, bytes / 1e6);
  }
  std::remove(scratch);
}
