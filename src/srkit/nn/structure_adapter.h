// A structure adapter (T2I-Adapter's design, at the scale of srkit's flow U-Net): for each
// condition map (a colour map, edges, an image: ops/structure_conditions.h) a branch of pixel
// unshuffle, a convolution and residual blocks that yields one feature map per encoder level of
// the flow U-Net; the branches' maps are summed with per-condition weights and added to the
// U-Net's encoder features (FlowUNetImpl::forward's encoder_features). Each branch's output
// convolutions start at zero, so a new adapter leaves the U-Net as it was.
//
// T2I-Adapter unshuffles by 8 to reach Stable Diffusion's latent grid and adds its features at
// 1/8..1/64; srkit's U-Net runs on pixels, so a branch unshuffles by 2, and its full-resolution
// map is a pixel shuffle of a half-resolution one.
//
//   StructureAdapter adapter(StructureAdapterOptions{{3, 1}, {1, 1}, unet->level_widths()});
//   auto v = unet->forward(x_s, condition, s, adapter->forward({colours, edges}));
//
// ConditionedFlowUNet holds a flow U-Net and its adapter: seed 002's teacher, p(x | LR, structure).
#pragma once

#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>
#include <nlohmann/json.hpp>

#include "srkit/nn/flow_unet.h"

namespace srkit {

struct StructureAdapterOptions {
  std::vector<int64_t> branches;      // each condition map's channels
  std::vector<double> weights;        // each branch's weight in the sum (T2I-Adapter's cond_weight)
  std::vector<int64_t> level_widths;  // the U-Net's (FlowUNetImpl::level_widths())
  int64_t channels = 32;              // a branch's width
  int64_t blocks = 1;                 // residual blocks per level
};

nlohmann::json to_json(const StructureAdapterOptions& options);
// A usage Error naming the key for unknown keys or bad values.
StructureAdapterOptions structure_adapter_options(const nlohmann::json& json);

class StructureAdapterImpl : public torch::nn::Module {
 public:
  explicit StructureAdapterImpl(const StructureAdapterOptions& options);
  // One map per branch ([N, branches[b], H, W], H and W even) -> one feature map per level
  // ([N, level_widths[l], H/2^l, W/2^l]): the weighted sum over branches.
  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& conditions);
  const StructureAdapterOptions& options() const { return options_; }

 private:
  StructureAdapterOptions options_;
  torch::nn::ModuleList branches_;
};
TORCH_MODULE(StructureAdapter);

// A flow U-Net conditioned on structure by an adapter; `keep` [N] (1 or 0 per sample) drops the
// conditioning of some samples (the adapter's features times 0), which training does at random
// so that the same network also gives the unconditioned velocity (classifier-free guidance).
class ConditionedFlowUNetImpl : public torch::nn::Module {
 public:
  ConditionedFlowUNetImpl(FlowUNet network, const StructureAdapterOptions& adapter);
  torch::Tensor forward(const torch::Tensor& x_s, const torch::Tensor& condition,
                        const torch::Tensor& s, const std::vector<torch::Tensor>& structure,
                        const torch::Tensor& keep = {});
  FlowUNet network;
  StructureAdapter adapter;
};
TORCH_MODULE(ConditionedFlowUNet);

}  // namespace srkit
