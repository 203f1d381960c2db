// Reading and writing image files (PNG, JPEG, TIFF, WebP, BMP, PNM) as srkit images: float32
// [C,H,W] tensors in [0,1] in RGB(A) order, remembering the file's bit depth so 16-bit stays
// 16-bit.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "srkit/io/samples.h"  // file_samples, unit_float: the conversions used here

namespace srkit {

class RowReader;  // io/row_reader.h

struct ImageShape {
  int64_t height = 0, width = 0, channels = 0;  // channels: 1 gray, 3 RGB, 4 RGBA
  int bit_depth =
      8;  // asked for: 8, 16 or 32 (float); the format may keep less (written_bit_depth)
};

struct Image {
  // [C,H,W] float32 in [0,1]; C = 1 (gray), 3 (RGB) or 4 (RGBA). Read with
  // PixelStorage::kCompact, an 8-bit image holds its uint8 samples instead (value = sample / 255).
  torch::Tensor pixels;
  int bit_depth = 8;  // of the source: 8, 16, or 32 (float TIFF)
  std::filesystem::path origin;
  // PixelStorage::kStreamed, for a file that can be decoded a band of rows at a time: the file,
  // opened, and `pixels` undefined.
  std::shared_ptr<RowReader> rows;
};

// The size of an image, held or streamed, and its source's bit depth.
ImageShape image_shape(const Image& image);

// How read_image holds the pixels.
enum class PixelStorage {
  kFloat,     // float32 in [0,1]
  kCompact,   // an 8-bit image as its uint8 samples, a quarter of the memory, for code that scales
              // them a window at a time (unit_float, io/samples.h); other depths as kFloat
  kStreamed,  // a PNG or TIFF that open_row_reader can stream (io/row_reader.h) is opened, not
              // decoded: Image::rows; other files as kCompact
};

// Decodes a file and applies its EXIF orientation. Throws an input Error naming the file when it is
// missing, unreadable, not an image, truncated, or has an unsupported layout.
Image read_image(const std::filesystem::path& path, PixelStorage storage = PixelStorage::kFloat);

struct WriteOptions {
  bool overwrite = false;
  int jpeg_quality = 95;
};

// Writes atomically, in the format of the extension. 16-bit data is written as 16-bit where the
// format allows it (PNG, TIFF), float (bit_depth 32) as float TIFF; otherwise 8-bit. Values are
// rounded, never truncated. Returns the bit depth written.
int write_image(const std::filesystem::path& path, const torch::Tensor& pixels, int bit_depth,
                const WriteOptions& options = {});

// The values `pixels` would hold after write_image at this bit depth (8 or 16; 32 = float, only
// clamped) and read_image: the same rounding and the same scaling, bit for bit. Used to make
// low-resolution inputs exactly as if they had been saved to files.
torch::Tensor stored_values(const torch::Tensor& pixels, int bit_depth);

// The image files of a folder (not recursive), sorted. Throws a usage Error when it is not a
// folder or holds no images.
std::vector<std::filesystem::path> list_image_files(const std::filesystem::path& folder);

// True for the extensions read_image understands (case-insensitive).
bool is_image_path(const std::filesystem::path& path);

}  // namespace srkit
