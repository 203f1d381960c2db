// How large an image file may say it is. A few kilobytes of PNG can declare a 100000x100000 image
// whose rows inflate from nothing (a decompression bomb): srkit refuses a file whose header
// declares more pixels than the limit before reading its pixels (PNG, TIFF), or once decoded
// (other formats, which OpenCV itself caps at 2^30 pixels unless OPENCV_IO_MAX_IMAGE_PIXELS says
// otherwise). Process-wide: the CLI sets it from --max-pixels.
//
//   srkit::set_max_image_pixels(int64_t{1} << 32);   // 4 gigapixels; 0 = no limit
#pragma once

#include <cstdint>
#include <filesystem>

namespace srkit {

inline constexpr int64_t kDefaultMaxImagePixels = int64_t{1} << 30;  // OpenCV's own default

int64_t max_image_pixels();                 // 0 = no limit
void set_max_image_pixels(int64_t pixels);  // negative: a usage Error

// An input Error naming the file when width x height passes the limit.
void check_image_pixels(const std::filesystem::path& path, int64_t width, int64_t height);

}  // namespace srkit
