// A one-step upscaler distilled from the rectified-flow model (seed 002, ICM-SR; the generator of
// train/distillation_step.h) as a Model, task "sr": one evaluation of the flow U-Net, from the
// low-resolution image alone, deterministic. As OSEDiff feeds its U-Net the LR latent in place of
// noise at the last timestep, the generator's start is the flow's own image of the upsampled LR
// (0 for a residual flow, the upsampled image otherwise) at noise level `level` (1 by default),
// and the output is the clean estimate x = x_start - level * v.
//
// Every layer is local, so tiles equal the whole image when the network's size multiple divides
// the scale (the shipped configurations: multiple 4 at x4): every window then starts on the
// network's grid.
//
//   auto model = srkit::open_model_file("icm_x4.srkit");    // registry.h
//   torch::Tensor hr = model->forward(lr);                   // [N,3,4h,4w]
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include "srkit/models/flow_model.h"
#include "srkit/models/model.h"
#include "srkit/models/model_archive.h"
#include "srkit/nn/flow_unet.h"

namespace srkit {

// The generator's output in the flow's space (what training differentiates): condition [N,3,H,W]
// (flow_condition of the LR; H, W multiples of the network's size multiple) -> the clean estimate
// [N,3,H,W] after one evaluation at `level`.
torch::Tensor one_step_generate(FlowUNetImpl& network, const torch::Tensor& condition,
                                const FlowModelSettings& settings, double level);

class OneStepFlowModel : public Model {
 public:
  OneStepFlowModel(FlowUNet network, FlowModelSettings settings, double level,
                   const nlohmann::json& about, const std::string& source);
  const ModelCard& card() const override { return card_; }
  void prepare(const torch::Device& device, bool channels_last) override;
  torch::Tensor forward(const torch::Tensor& input) override;

  double level() const { return level_; }
  FlowUNetImpl& network() { return *network_; }

 private:
  FlowUNet network_;
  FlowModelSettings settings_;
  double level_;
  bool channels_last_ = false;
  ModelCard card_;
};

// Writes a one-step model file (architecture "flow_unet_one_step"; atomic). `about`: "name", ...
void save_one_step_flow_model(const std::filesystem::path& path, FlowUNetImpl& network,
                              const FlowModelSettings& settings, double level,
                              const nlohmann::json& about);

// The one-step model of a model file already opened (a setup Error naming it when damaged).
std::unique_ptr<OneStepFlowModel> read_one_step_flow_model(const ModelArchive& archive);

}  // namespace srkit
