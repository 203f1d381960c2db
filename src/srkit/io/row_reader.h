// Reading an image file a band of rows at a time, top to bottom, so that an input larger than
// memory is never decoded whole: PNG through libpng, TIFF in strips or tiles through libtiff. The
// rows are the values read_image (image_io.h) makes of the same file, bit for bit: an 8-bit file's
// uint8 samples (as PixelStorage::kCompact holds them), a 16-bit file's float32 values in [0,1].
//
//   if (auto reader = srkit::open_row_reader("scan.tif")) {
//     while (reader->next_row() < reader->shape().height) {
//       auto rows = reader->read(64);  // [C, n, W]
//     }
//   }
//
// Only layouts whose rows are the file's samples stream; the others (interlaced or palette PNGs,
// transparency chunks, planar TIFFs, YCbCr, float, orientation tags, JPEG with its EXIF
// orientation, every other format) are for read_image, which decodes them whole.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>

#include <torch/types.h>

#include "srkit/io/image_io.h"

namespace srkit {

class RowReader {
 public:
  virtual ~RowReader() = default;
  const ImageShape& shape() const { return shape_; }  // bit_depth: the file's, 8 or 16
  const std::filesystem::path& path() const { return path_; }
  int64_t next_row() const { return next_; }  // rows [0, next_row) were read

  // The next min(count, rows left) rows, [C, n, W]: uint8 for an 8-bit file, float32 in [0,1] for
  // a 16-bit one. An input Error names the file when it turns out corrupt or cut short.
  virtual torch::Tensor read(int64_t count) = 0;
  // Back to the first row (the file is opened again).
  virtual void restart() = 0;

 protected:
  RowReader(std::filesystem::path path, const ImageShape& shape)
      : path_(std::move(path)), shape_(shape) {}
  std::filesystem::path path_;
  ImageShape shape_;
  int64_t next_ = 0;
};

// The file opened for reading by rows, or nullptr when its format or layout does not stream (see
// above) or it cannot be opened as one: read_image then says what is wrong with it.
std::unique_ptr<RowReader> open_row_reader(const std::filesystem::path& path);

}  // namespace srkit
