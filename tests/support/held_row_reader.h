// A RowReader (io/row_reader.h) over a tensor held in memory, for the engine's unit tests: the
// rows a file reader would give (uint8 samples or float32 values), without a codec, and a count of
// what the engine asked of it.
#pragma once

#include <algorithm>

#include <torch/torch.h>

#include "srkit/io/row_reader.h"

namespace srkit::testing {

class HeldRowReader : public RowReader {
 public:
  // `image` [C,H,W], uint8 (an 8-bit file) or float32 (a 16-bit one).
  explicit HeldRowReader(const torch::Tensor& image)
      : RowReader("held.png", {image.size(1), image.size(2), image.size(0),
                               image.scalar_type() == torch::kUInt8 ? 8 : 16}),
        image_(image) {}

  torch::Tensor read(int64_t count) override {
    const int64_t n = std::clamp<int64_t>(count, 0, shape_.height - next_);
    auto rows = image_.slice(1, next_, next_ + n).clone();
    next_ += n;
    rows_read += n;
    return rows;
  }
  void restart() override {
    next_ = 0;
    ++restarts;
  }

  int64_t rows_read = 0;
  int restarts = 0;

 private:
  torch::Tensor image_;
};

}  // namespace srkit::testing
