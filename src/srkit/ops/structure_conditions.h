// The sparse structure of an image that seed 002 (ICM-SR) conditions its teacher on, after
// T2I-Adapter's conditions: a colour map (the image bicubic-downsampled to a grid of cells x cells
// colours and nearest-upsampled back: the "spatial palette", 8x8 at T2I-Adapter's 512 px) and
// Canny edges (OpenCV's, on the 8-bit image, thresholds 100/200). Its ablation conditions on the
// dense image itself instead.
//
//   srkit::StructureConditioning icm;                  // colour map (8x8) + edges (100/200)
//   auto maps = srkit::structure_conditions(hr, icm);  // {[N,3,H,W] colours, [N,1,H,W] edges}
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>
#include <nlohmann/json.hpp>

namespace srkit {

// images [N,3,H,W] in [0,1] -> [N,3,H,W]: each image resized to cells x cells by OpenCV's bicubic
// (INTER_CUBIC, which samples without averaging, as T2I-Adapter's palette does) and back by
// nearest neighbour, so the image is a grid of cells x cells flat colours. A usage Error for
// cells < 1 or an image smaller than cells.
torch::Tensor colour_map(const torch::Tensor& images, int64_t cells = 8);

// images [N,C,H,W] in [0,1] (C 1 or 3) -> [N,1,H,W]: 1 on Canny's edges, 0 elsewhere. The image
// is rounded to 8 bits; a colour image's gradient at a pixel is its largest channel's (OpenCV's
// Canny on the 3-channel image). Hysteresis thresholds on the Sobel gradient's L1 magnitude.
torch::Tensor canny_edges(const torch::Tensor& images, double low = 100, double high = 200);

// Which structure a conditioned flow teacher sees, and from what.
struct StructureConditioning {
  // icm: the colour map and the edges (two adapter branches); dense: the image itself (one).
  std::string kind = "icm";
  int64_t cells = 8;
  double canny_low = 100, canny_high = 200;
};

nlohmann::json to_json(const StructureConditioning& conditioning);
// A usage Error naming the key for unknown keys or bad values.
StructureConditioning structure_conditioning(const nlohmann::json& json);

// The channels of each condition map kind gives: icm {3, 1}, dense {3}.
std::vector<int64_t> structure_channels(const StructureConditioning& conditioning);

// The condition maps of images [N,3,H,W] in [0,1], in the order of structure_channels(), each in
// [0,1]: icm {colour_map, canny_edges}, dense {images}. Not differentiable (computed without a
// graph).
std::vector<torch::Tensor> structure_conditions(const torch::Tensor& images,
                                                const StructureConditioning& conditioning);

}  // namespace srkit
