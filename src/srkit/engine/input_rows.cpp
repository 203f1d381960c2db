#include "srkit/engine/input_rows.h"

#include <algorithm>

#include <torch/torch.h>

#include "srkit/core/clock.h"

namespace srkit {

InputRows::InputRows(const torch::Tensor& image)
    : image_(image.scalar_type() == torch::kUInt8 ? image : image.to(torch::kFloat32)),
      device_(image.device()),
      channels_(image.size(0)),
      height_(image.size(1)),
      width_(image.size(2)) {
  peak_bytes_ =
      static_cast<int64_t>(image.nbytes() + (image_.is_same(image) ? 0 : image_.nbytes()));
}

InputRows::InputRows(std::shared_ptr<RowReader> file, const torch::Device& device)
    : file_(std::move(file)),
      device_(device),
      channels_(file_->shape().channels),
      height_(file_->shape().height),
      width_(file_->shape().width) {}

int64_t InputRows::row_bytes() const {
  const bool bytes = file_ ? file_->shape().bit_depth == 8 : image_.scalar_type() == torch::kUInt8;
  return channels_ * width_ * (bytes ? 1 : 4);
}

void InputRows::begin(int readers) {
  firsts_.assign(readers, 0);
  if (!file_) return;
  held_ = torch::Tensor();
  held_first_ = 0;
  if (file_->next_row() > 0) file_->restart();
}

torch::Tensor InputRows::rows(int64_t from, int64_t to, int reader) {
  TORCH_CHECK(reader >= 0 && reader < static_cast<int>(firsts_.size()), "no such reader");
  TORCH_CHECK(0 <= from && from <= to && to <= height_, "rows out of the image");
  if (!file_) return image_.slice(1, from, to);
  const auto start = SteadyClock::now();
  TORCH_CHECK(from >= firsts_[reader], "a reader's rows moved up");
  firsts_[reader] = from;
  // Let go of the rows above every reader (skipping any no reader asked for), then read what
  // `to` still needs. The rows held are the last the file gave.
  const int64_t keep_from = *std::min_element(firsts_.begin(), firsts_.end());
  if (held_.defined() && keep_from > held_first_) {
    const int64_t drop = std::min(keep_from - held_first_, held_.size(1));
    held_ = held_.slice(1, drop);
    held_first_ += drop;
  }
  if (!held_.defined() || held_.size(1) == 0) {
    while (file_->next_row() < keep_from) {
      file_->read(std::min<int64_t>(keep_from - file_->next_row(), 256));
    }
    held_ = torch::Tensor();
    held_first_ = file_->next_row();
  }
  const int64_t held_end = file_->next_row();
  if (to > held_end) {
    auto more = file_->read(to - held_end).to(device_);
    // One tensor for the rows kept and the rows read: the next slice is a view of it.
    held_ = held_.defined() ? torch::cat({held_, more}, 1) : more;
    peak_bytes_ = std::max<int64_t>(peak_bytes_, held_.nbytes());
  }
  seconds_reading_ += seconds_since(start);
  return held_.slice(1, from - held_first_, to - held_first_);
}

std::optional<torch::Tensor> InputRows::constant_channel(int64_t channel) {
  if (!file_) {
    const auto plane = image_[channel];
    if (!(plane.max() == plane.min()).item<bool>()) return std::nullopt;
    return plane[0][0].clone();
  }
  // Through the file a band at a time (a few MB), then back to its top.
  const auto start = SteadyClock::now();
  if (file_->next_row() > 0) file_->restart();
  const int64_t band = std::max<int64_t>(1, (int64_t{8} << 20) / std::max<int64_t>(1, row_bytes()));
  torch::Tensor value;
  bool constant = true;
  while (constant && file_->next_row() < height_) {
    const auto plane = file_->read(band)[channel];
    if (!value.defined()) value = plane[0][0].clone();
    constant = (plane.max() == value).item<bool>() && (plane.min() == value).item<bool>();
  }
  file_->restart();
  seconds_reading_ += seconds_since(start);
  if (!constant) return std::nullopt;
  return value.to(device_);
}

}  // namespace srkit
