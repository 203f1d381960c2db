// The input of an upscale as the engine reads it: rows, top to bottom, from an image held whole
// or from a file decoded a band at a time (io/row_reader.h), so that an input larger than memory
// is held only as the rows the tiles of one tile-row and the bands being finished still read.
//
//   srkit::InputRows input(image.rows, device);   // or InputRows(tensor)
//   input.begin(1);
//   auto rows = input.rows(top, top + window_h);  // [C, n, W]
//
// Each reader (the model's windows; the bicubic alpha of finished bands) reads rows whose first
// never moves up; the rows above every reader's first are let go.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <torch/types.h>

#include "srkit/io/row_reader.h"

namespace srkit {

class InputRows {
 public:
  // An image held whole, [C,H,W]: uint8 samples stay uint8, other types become float32.
  explicit InputRows(const torch::Tensor& image);
  // A file read a band at a time; the rows are moved to `device` as they are read.
  InputRows(std::shared_ptr<RowReader> file, const torch::Device& device);

  int64_t channels() const { return channels_; }
  int64_t height() const { return height_; }
  int64_t width() const { return width_; }
  bool streamed() const { return file_ != nullptr; }
  const torch::Device& device() const { return device_; }
  // Bytes of one row, [C, 1, W], as held.
  int64_t row_bytes() const;

  // Starts (or starts over, after an out-of-memory retry) a pass of `readers` readers from the
  // first row; a file is read again from its top.
  void begin(int readers);
  // Rows [from, to), [C, to - from, W]: uint8 samples or float32 values. A reader's `from` must
  // not move up from its last (a logic error otherwise).
  torch::Tensor rows(int64_t from, int64_t to, int reader = 0);

  // The value of `channel` when it is the same at every pixel (a scalar tensor of the rows'
  // type); a file is read through once for it, then starts over.
  std::optional<torch::Tensor> constant_channel(int64_t channel);

  // The most bytes held at once: the whole image, or the largest band of rows a file kept.
  int64_t peak_bytes() const { return peak_bytes_; }
  // Seconds spent reading (decoding) the file's rows so far.
  double seconds_reading() const { return seconds_reading_; }

 private:
  torch::Tensor image_;              // held whole
  std::shared_ptr<RowReader> file_;  // or read by rows
  torch::Device device_ = torch::kCPU;
  torch::Tensor held_;  // a file's rows [held_first_, held_first_ + held_.size(1))
  int64_t held_first_ = 0;
  std::vector<int64_t> firsts_;  // each reader's last `from`
  int64_t channels_ = 0, height_ = 0, width_ = 0;
  int64_t peak_bytes_ = 0;
  double seconds_reading_ = 0;
};

}  // namespace srkit
