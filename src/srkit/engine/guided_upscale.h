// A guided model over a user's images: inputs are brought to [0,1] the way training saw them (the
// low-resolution target by its own minimum and range, the guide by its own), the network runs
// whole or in tiles through the engine's tiler, and the result goes back to the target's units.
//
//   auto model = srkit::load_model({"runs/magnet/magnet.srkit"});
//   torch::Tensor depth = srkit::guided_model_upscale(*model, GuidedTask::kDepth, lr, rgb);
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "srkit/core/guided_task.h"
#include "srkit/core/progress.h"
#include "srkit/models/model.h"
#include "srkit/nn/magnet.h"

namespace srkit {

// How a guided model runs over large inputs. MDTA attends over its whole input, so a tiled result
// is not the whole-image one: images run whole when they fit the memory budget, and tiles carry
// `pad` target pixels of context (docs/guided.md measures tiled against whole).
struct GuidedTiling {
  int64_t tile = 0;        // tile side in target (low-resolution) pixels; 0 = whole image when
                           // it fits max_memory, else the largest tile that does
  int64_t pad = 32;        // context around a tile, target pixels
  int64_t overlap = 4;     // target pixels shared by neighbouring tiles, blended
  int64_t max_memory = 0;  // bytes one pass may use; 0 = default_memory_budget()
};

// target_lr [C,h,w], guide [G,H,W] in any units -> [C,H,W] in the target's units (no gradient):
// a guided Model (card().inputs {"guide"}, the task among its tasks). Both inputs are scaled to
// [0,1] by the whole images' ranges, also when tiled. `expert_counts`, when given, accumulates
// per routed level the number of pixels that chose each expert ([M] each; the router's top-k
// choice in eval mode; tiled runs count every window's pixels).
torch::Tensor guided_model_upscale(Model& model, GuidedTask task, const torch::Tensor& target_lr,
                                   const torch::Tensor& guide,
                                   std::vector<torch::Tensor>* expert_counts = nullptr,
                                   const GuidedTiling& tiling = {},
                                   const ProgressFn& progress = {});

// The same for a MAG-Net in hand (training, tests).
torch::Tensor guided_model_upscale(MagNetImpl& network, GuidedTask task,
                                   const torch::Tensor& target_lr, const torch::Tensor& guide,
                                   std::vector<torch::Tensor>* expert_counts = nullptr,
                                   const GuidedTiling& tiling = {},
                                   const ProgressFn& progress = {});

}  // namespace srkit
