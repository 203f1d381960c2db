// The integer samples an image file stores and the values in [0,1] srkit computes with, both ways,
// exactly as read_image and write_image convert them (image_io.h). Tensors only, no codecs: the
// engine uses them to hold 8-bit inputs and outputs compactly, a window or a tile at a time.
//
//   auto values = srkit::unit_float(uint8_samples);       // float(s) * float(1/255)
//   auto bytes = srkit::file_samples(values, 8);          // clamp, * 255, round -> uint8
#pragma once

#include <torch/types.h>

namespace srkit {

// uint8 samples as float32 values: float(sample) * float(1/255), exactly as read_image (OpenCV's
// convertTo) scales an 8-bit file. Float tensors are returned as they are.
torch::Tensor unit_float(const torch::Tensor& samples);

// Values in [0,1] as the samples a file of this bit depth stores, in the same layout: clamped,
// scaled to the full range and rounded (never truncated). 8 -> uint8; 16 -> int16 holding the bit
// pattern of uint16 (LibTorch has no uint16); 32 (float) -> float32, only clamped. What write_image
// and ImageWriter store, so values quantized early (a tile as it comes) are the file's samples.
torch::Tensor file_samples(const torch::Tensor& values, int bit_depth);

// file_samples of float32 values the caller no longer needs: they are clamped and scaled in place
// on the way (and left so), so that no float copy of their size is made (a large tile's output).
torch::Tensor file_samples_in_place(torch::Tensor values, int bit_depth);

// The tensor type of file_samples at this bit depth.
torch::ScalarType sample_type(int bit_depth);

}  // namespace srkit
