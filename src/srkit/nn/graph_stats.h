// What a network's graph tells about it without running it: the facts a model card reports.
#pragma once

#include <cstdint>

namespace srkit {

// Facts derived from the graph alone, without running it: what a model card reports.
struct GraphStats {
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t scale = 1;  // output size / input size
  int64_t parameters = 0;
  double flops_per_input_pixel = 0;       // multiply-adds count as 2 FLOPs
  double receptive_radius = 0;            // in input pixels, from the centre to the edge
  double peak_bytes_per_input_pixel = 0;  // float32 activations alive at once, inference
};

}  // namespace srkit
