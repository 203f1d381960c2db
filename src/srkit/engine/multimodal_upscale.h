// A multi-modal model (M3ESR, models/multimodal_model.h) over a user's image: the modality maps
// the user gives (any size and range: resized to the output grid, scaled to [0,1] when outside it)
// and those srkit computes from the image itself (edges, segmentation: ops/modality_maps.h), a
// caption's text embedding broadcast over the image, and the modalities missing masked out; run
// whole or in tiles padded by the receptive radius (tiles equal the whole), with the per-pixel
// modality weights blended alongside.
//
//   srkit::ModalityInputs given;
//   given.maps["depth"] = srkit::read_depth_map("photo_depth.png").unsqueeze(0);
//   auto result = srkit::multimodal_upscale(*model, lr, given);
//   // result.image [3,H,W]; result.weights [K,H,W]; result.given {"depth"}, .computed {"edges"}
#pragma once

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <torch/types.h>

#include "srkit/core/progress.h"
#include "srkit/engine/tiling.h"
#include "srkit/models/model.h"

namespace srkit {

struct ModalityInputs {
  std::map<std::string, torch::Tensor> maps;  // by modality: [C,H,W], any size and range
  std::string text;                           // a caption for the text modality ("" = none)
  torch::Tensor text_embedding;               // or the caption's embedding [D] (wins over text)
  std::set<std::string> dropped;              // left out even where srkit could compute them
};

struct MultimodalResult {
  torch::Tensor image;    // [C,H,W] in [0,1], C as the input's (gray, RGB, RGBA)
  torch::Tensor weights;  // [K,H,W] each modality's weight per output pixel (undefined for the
                          // fusions without weights: concat, none)
  std::vector<std::string> given, computed, missing;  // the model's modalities, by origin
};

// `image` [C,h,w] in [0,1] (gray runs as RGB and is written back as the channel mean; an alpha
// channel is resized with MATLAB bicubic). A usage Error naming the modality for a map the model
// does not take or whose channels do not fit (a gray map fits any modality of one channel and is
// repeated for more; an RGB map's mean serves a one-channel modality).
MultimodalResult multimodal_upscale(Model& model, const torch::Tensor& image,
                                    const ModalityInputs& given, const TileOptions& tiling = {},
                                    const ProgressFn& progress = {});

// The maps a user gives by file for one input, by modality (`srkit upscale --modality NAME=PATH`):
// a PATH that is a folder holds one file per input, named by the input's stem (any extension);
// PATH "none" leaves the modality out (ModalityInputs::dropped). A
// depth map is read as depth_file.h reads it (unknown pixels become its smallest value); text is
// a caption file (any text) or an embedding (.npy, one vector); the others are images. A usage
// Error naming the modality and file when the file is missing or unreadable.
ModalityInputs read_modality_inputs(const std::map<std::string, std::filesystem::path>& given,
                                    const std::filesystem::path& input);

// The weights [K,H,W] as a picture [3,H,W] in [0,1]: the weighted sum of each modality's colour
// (modality_colour), so a pixel shows the modality it relied on (mixed colours: several).
torch::Tensor weights_picture(const torch::Tensor& weights);
// Colour k of the weights picture (RGB in [0,1]): red, green, blue, yellow, magenta, cyan, ...
std::vector<float> modality_colour(int64_t k);

}  // namespace srkit
