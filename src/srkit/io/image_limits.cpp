#include "srkit/io/image_limits.h"

#include <atomic>
#include <cmath>
#include <string>

#include "srkit/core/error.h"

namespace srkit {
namespace {

std::atomic<int64_t> g_max_image_pixels{kDefaultMaxImagePixels};

}  // namespace

int64_t max_image_pixels() { return g_max_image_pixels.load(); }

void set_max_image_pixels(int64_t pixels) {
  if (pixels < 0) throw usage_error("{{max_pixels}} must be >= 0 (0: no limit)");
  g_max_image_pixels.store(pixels);
}

void check_image_pixels(const std::filesystem::path& path, int64_t width, int64_t height) {
  const int64_t limit = max_image_pixels();
  if (limit <= 0 || width <= 0 || height <= 0 || width <= limit / height) return;
  const auto megapixels = [](double pixels) { return std::to_string(std::llround(pixels / 1e6)); };
  throw input_error(
      path.string(),
      "declares a " + std::to_string(width) + "x" + std::to_string(height) + " image (" +
          megapixels(static_cast<double>(width) * static_cast<double>(height)) +
          " megapixels), more than the limit of " + megapixels(static_cast<double>(limit)) +
          " megapixels (a damaged file or a decompression bomb?)",
      "raise {{max_pixels}} if the image is what you expect");
}

}  // namespace srkit
