// Writing an image file a band of rows at a time, so that an output larger than memory can be
// written while it is computed. PNG (libpng) and TIFF (libtiff, in strips; BigTIFF past 3 GiB of
// samples) are encoded as the rows arrive; JPEG, WebP, BMP and PNM cannot be, and hold the whole
// image as 8- or 16-bit samples until commit. Atomic like every srkit output: the rows go to a
// temporary file that commit() renames into place; a writer destroyed without commit (an error,
// Ctrl-C) removes it.
//
//   srkit::ImageWriter out("big.png", {height, width, 3, 8});
//   for (...) out.write_rows(rows);   // [C, n, W] in [0,1] or 8-bit samples, top to bottom
//   out.commit();
//
// The encoding of one band runs on a thread of its own while the caller computes the next:
// write_rows converts the rows to the file's samples, waits for the previous band's encoding, and
// returns.
//
// write_image (image_io.h) is one ImageWriter given every row at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <future>
#include <memory>
#include <string>

#include <torch/types.h>

#include "srkit/io/image_io.h"

namespace srkit {

// The extension of `path`, lower case, with the dot: what chooses the format.
std::string image_extension(const std::filesystem::path& path);

// The bit depth a file of this extension stores for `bit_depth`: 16 in PNG, TIFF and PNM, float
// (32) only in TIFF, else 8.
int written_bit_depth(const std::filesystem::path& path, int bit_depth);

// Whether the format is encoded as rows arrive (PNG, TIFF) rather than held whole.
bool streams_rows(const std::filesystem::path& path);

// The bytes the writer holds while writing: one row for a streamed format, every sample otherwise.
int64_t writer_memory_bytes(const std::filesystem::path& path, const ImageShape& shape);

class ImageWriter {
 public:
  // Creates the temporary file (for a streamed format, with its header). An output Error names
  // the file when it exists (without `options.overwrite`), has no image extension, or cannot be
  // created.
  ImageWriter(const std::filesystem::path& path, const ImageShape& shape,
              const WriteOptions& options = {});
  ~ImageWriter();
  ImageWriter(const ImageWriter&) = delete;
  ImageWriter& operator=(const ImageWriter&) = delete;

  // The next rows, [C, n, W] in [0,1] (clamped, rounded as write_image rounds), or already the
  // file's samples (file_samples at bit_depth(), io/samples.h). An encoding failure of an earlier
  // band is thrown here or by commit.
  void write_rows(const torch::Tensor& rows);
  // After the last row: finishes the file and renames it into place. An output Error when rows
  // are missing or the disk refuses.
  void commit();

  int bit_depth() const;  // written
  int64_t rows_written() const;

  // Where the writer's time went, in seconds: converting rows to the file's samples (the caller's
  // thread, in write_rows), encoding them (the encoding thread), the caller waiting in write_rows
  // for the previous band's encoding to end, and commit (the last band's encoding, the end of the
  // file, the rename); and the CPU seconds the encoding thread used (less than `encoding` when
  // it shared the cores with the caller's work). Read after commit.
  struct Timing {
    double converting = 0, encoding = 0, waiting = 0, committing = 0, encoding_cpu = 0;
  };
  const Timing& timing() const { return timing_; }

  struct Format;  // one per kind of file: PNG, TIFF, held whole

 private:
  std::unique_ptr<Format> format_;
  std::future<void> encoding_;  // the band being encoded
  torch::Tensor samples_;       // its samples: one buffer, reused band after band
  Timing timing_;               // `encoding` is written by the encoding thread, read after get()
};

}  // namespace srkit
