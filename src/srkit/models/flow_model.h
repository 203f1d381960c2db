// The rectified-flow upscaler (seed 001's flow model) as a Model, task "generative": its output
// is a sample, one per seed. The flow runs on the output grid in [-1,1]: x_s = (1 - s) x + s e,
// v* = e - x, conditioned on the low-resolution image upsampled (MATLAB bicubic) to that grid; x
// is the image itself, or (residual) the image less the upsampled input, scaled.
//
// Noise is drawn per output pixel by ops/pixel_noise.h, keyed by (seed, channel, y, x) in
// whole-image coordinates, so a sample does not depend on how it was computed: whole here
// (run), or each velocity in windows by the engine (engine/flow_upscale.h).
//
//   srkit::FlowModel model(net, settings, {{"name", "flow-x4"}}, "");
//   ModelInput input;  input.image = lr;  input.seed = 3;  input.steps = 28;
//   torch::Tensor hr = model.run(input);                           // [N,3,4h,4w], in [0,1]
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include "srkit/models/flow_sampler.h"
#include "srkit/models/model.h"
#include "srkit/models/model_archive.h"
#include "srkit/nn/flow_unet.h"
#include "srkit/ops/pixel_noise.h"

namespace srkit {

struct FlowModelSettings {
  int64_t scale = 4;
  bool residual = false;      // the flow carries (image - upsampled input) * residual_scale
  double residual_scale = 4;  // brings the residual's spread nearer the noise's
  FlowSampling sampling;      // what a run with steps 0 uses
};

nlohmann::json to_json(const FlowModelSettings& settings);
// Throws a usage Error naming the key for unknown keys or out-of-range values.
FlowModelSettings flow_model_settings(const nlohmann::json& json);

// The flow's space: images in [0,1] <-> [-1,1] on the output grid.
// The low-resolution image upsampled (MATLAB bicubic), in [-1,1]: the network's condition.
torch::Tensor flow_condition(const torch::Tensor& lr, const FlowModelSettings& settings);
// The flow's clean target for a high-resolution image, given the condition (training).
torch::Tensor flow_target(const torch::Tensor& hr, const torch::Tensor& condition,
                          const FlowModelSettings& settings);
// The image a clean sample x stands for, in [0,1] (not clamped).
torch::Tensor flow_image(const torch::Tensor& x, const torch::Tensor& condition,
                         const FlowModelSettings& settings);

// The condition of `network` for low-resolution images lr [N,C,h,w] (a usage Error naming the
// model `name` for another shape), replicate-padded on the bottom and right to the network's size
// multiple: the grid the network runs on; the image is its top-left h*scale x w*scale.
torch::Tensor padded_flow_condition(const torch::Tensor& lr, const FlowUNetImpl& network,
                                    const FlowModelSettings& settings, const std::string& name);

// The velocity over a whole (padded) output grid: the network in one pass, or in windows.
using GridVelocityFn = std::function<torch::Tensor(const torch::Tensor& x_s,
                                                   const torch::Tensor& condition, double s)>;

// The card fields a model of a flow network shares (name, scale, parameters, costs on the output
// grid, licence, source and its digest, merged adapters); the model sets its task, architecture
// and receptive radius.
ModelCard flow_network_card(const FlowUNetImpl& network, const FlowModelSettings& settings,
                            const nlohmann::json& about, const std::string& source);

class FlowModel : public Model {
 public:
  // `about`: the file's description ("name", "licence", ...); `source`: the file it came from,
  // or "" for a network in hand.
  FlowModel(FlowUNet network, FlowModelSettings settings, const nlohmann::json& about,
            const std::string& source);
  const ModelCard& card() const override { return card_; }
  void prepare(const torch::Device& device, bool channels_last) override;
  // input.image [N,3,h,w] in [0,1] -> one sample [N,3,h*scale,w*scale] in [0,1] for input.seed
  // (sample k of a batch: seed + k), input.steps (0: the settings' own) with noise keyed at
  // output pixel (top * scale, left * scale). The whole image in one pass per velocity.
  torch::Tensor run(const ModelInput& input, ModelDiagnostics* diagnostics = nullptr) override;
  torch::Tensor forward(const torch::Tensor& input) override;

  // The sample, with each velocity computed by `velocity` over the whole grid (padded on the
  // bottom and right to the network's size multiple); what run and the tiled engine share.
  torch::Tensor sample(const torch::Tensor& lr, uint64_t seed, const FlowSampling& sampling,
                       const GridVelocityFn& velocity, int64_t top = 0, int64_t left = 0,
                       const std::function<void(int64_t, int64_t)>& evaluated = {});

  FlowUNetImpl& network() { return *network_; }
  const FlowModelSettings& settings() const { return settings_; }

 private:
  FlowUNet network_;
  FlowModelSettings settings_;
  ModelCard card_;
};

// Writes a flow model as a .srkit file (architecture "flow_unet"; atomic). `about`: "name", ...
void save_flow_model(const std::filesystem::path& path, FlowUNetImpl& network,
                     const FlowModelSettings& settings, const nlohmann::json& about);

// The flow model of a model file already opened.
std::unique_ptr<FlowModel> read_flow_model(const ModelArchive& archive);

}  // namespace srkit
