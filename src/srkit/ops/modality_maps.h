// The modality maps M3ESR (seed 000, nn/m3esr.h) fuses, computed from the low-resolution image on
// the output grid: the high-resolution image never exists at test time, so training computes them
// from each LR patch too. Classical extractors of OpenCV stand in for the paper's learned ones
// (Mask2Former, Depth Anything: no weights here); a user's own maps replace them
// (`srkit upscale --modality NAME=FILE`).
//
//   auto edges = srkit::edge_maps(lr, 4);          // [N,2,4h,4w]: Canny, gradient magnitude
//   auto regions = srkit::segmentation_maps(lr, 4); // [N,4,4h,4w]: boundaries, mean colour
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace srkit {

// lr [N,3,h,w] in [0,1] -> [N,2,h*scale,w*scale]: on the bicubic-upsampled image, Canny's edges
// (OpenCV, 8-bit colour image, thresholds 100/200: 1 on an edge) and the Sobel gradient magnitude
// of its luma, divided by 4 (the largest magnitude of a 3x3 Sobel of values in [0,1]) and clamped
// to [0,1].
torch::Tensor edge_maps(const torch::Tensor& lr, int64_t scale);

// lr [N,3,h,w] in [0,1] -> [N,4,h*scale,w*scale]: SLICO superpixels (OpenCV ximgproc, on the LR
// image in Lab, regions of about `region` LR pixels across, 10 iterations) nearest-upsampled to the
// output grid; channel 0 is 1 on a superpixel's boundary (a pixel whose right or lower neighbour
// lies in another superpixel), channels 1-3 are each superpixel's mean RGB colour. Deterministic.
torch::Tensor segmentation_maps(const torch::Tensor& lr, int64_t scale, int64_t region = 8);

// A user's map [C,H,W] (any range) brought to a model's grid: resized bicubically to height x
// width when its size differs; a map whose values all lie in [0,1] (an image file's, a computed
// map) is kept as it is, any other (depth in its own units) has each channel scaled to [0,1] by
// its own minimum and maximum (a flat channel becomes 0).
torch::Tensor normalised_map(const torch::Tensor& map, int64_t height, int64_t width);

}  // namespace srkit
