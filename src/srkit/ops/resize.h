// MATLAB-compatible bicubic resizing (imresize with 'bicubic' and antialiasing), the standard way
// SR benchmarks make low-resolution inputs, and srkit's filter for scales a model does not offer.
#pragma once

#include <utility>

#include <torch/types.h>

namespace srkit {

// Resizes the last two dimensions of `image` to out_h x out_w. Like MATLAB's imresize: cubic kernel
// with a = -0.5, symmetric (mirror) borders, and when shrinking the kernel is widened by 1/scale
// (antialiasing). The scale per axis is out/in.
torch::Tensor resize_bicubic(const torch::Tensor& image, int64_t out_h, int64_t out_w);

// imresize(image, scale): output size ceil(in * scale) per axis, kernel scale exactly `scale`.
torch::Tensor resize_bicubic(const torch::Tensor& image, double scale);

// resize_bicubic to out_h x out_w, computed a band of output rows at a time from a band of input
// rows: the rows equal the same rows of resize_bicubic bit for bit (the same taps, the same
// arithmetic per sample). Streams a resize through an image too large to hold whole.
//
//   BicubicRows resize(in_h, in_w, out_h, out_w);
//   auto [first, end] = resize.input_rows(0, 64);            // input rows output rows 0..63 read
//   auto band = resize.rows(image.slice(-2, first, end), first, 0, 64);
class BicubicRows {
 public:
  BicubicRows(int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w);

  // The input rows [first, end) that output rows [out_begin, out_end) read.
  std::pair<int64_t, int64_t> input_rows(int64_t out_begin, int64_t out_end) const;

  // Output rows [out_begin, out_end) from `band`, input rows [band_first, band_first + rows) of
  // [..., rows, in_w]; the band must cover input_rows(out_begin, out_end).
  torch::Tensor rows(const torch::Tensor& band, int64_t band_first, int64_t out_begin,
                     int64_t out_end) const;

 private:
  torch::Tensor row_index_, row_weight_, col_index_, col_weight_;
};

// The dense [out, in] matrix of the 1-D MATLAB bicubic resampling along one axis (rows sum to
// one), for tests and analysis; resize_bicubic itself works tap by tap, in linear time.
torch::Tensor bicubic_weights(int64_t in_length, int64_t out_length, double scale);

}  // namespace srkit
