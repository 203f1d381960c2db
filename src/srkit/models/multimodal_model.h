// A trained M3ESR (seed 000, nn/m3esr.h) as a Model (card task "multimodal", architecture
// "m3esr"): the low-resolution image, and its modality maps on the output grid as named extras
// (the card's `inputs`); a map that is absent is masked out of the fusion. The engine computes the
// maps a user does not give (engine/multimodal_upscale.h).
//
//   auto model = srkit::load_model({"runs/m3esr_x4/m3esr_x4.srkit"});   // a MultimodalModel
//   srkit::ModelDiagnostics weights;
//   auto hr = model->run({.image = lr, .extras = {{"edges", edges}}}, &weights);
//   // weights["weights"]: [N,K,h,w], each modality's weight per input pixel
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "srkit/models/model.h"
#include "srkit/models/model_archive.h"
#include "srkit/nn/m3esr.h"

namespace srkit {

class MultimodalModel : public Model {
 public:
  // `temperatures`: one per modality, those the model was trained to end with.
  MultimodalModel(M3esr network, std::vector<double> temperatures, const nlohmann::json& about,
                  const std::string& source);
  const ModelCard& card() const override { return card_; }
  void prepare(const torch::Device& device, bool channels_last) override;
  // input.image [N,3,h,w] in [0,1]; input.extras: any of the card's inputs, [N,C,H,W] in [0,1] on
  // the output grid. Diagnostics "weights": [N,K,h,w] (fusions with weights). A usage Error naming
  // the map for an extra the model does not take or of the wrong shape.
  torch::Tensor run(const ModelInput& input, ModelDiagnostics* diagnostics = nullptr) override;

  M3esrImpl& network() { return *network_; }
  const std::vector<double>& temperatures() const { return temperatures_; }
  // The superpixel size its segmentation maps were computed with in training (LR pixels; the
  // file's "maps": {"segmentation_region"}, 8 when absent): inference computes them the same way.
  int64_t segmentation_region() const { return segmentation_region_; }

 private:
  M3esr network_;
  std::vector<double> temperatures_;
  int64_t segmentation_region_ = 8;
  ModelCard card_;
};

// Writes an M3ESR network and the temperatures it runs with as a .srkit file (atomic); `about` is
// free-form ("name", "steps", "config", "maps": {"segmentation_region"}, ...).
void save_multimodal_model(const std::filesystem::path& path, M3esrImpl& network,
                           const std::vector<double>& temperatures, const nlohmann::json& about);

// The model of a file already opened; a setup Error naming the file when it is damaged.
std::unique_ptr<MultimodalModel> read_multimodal_model(const ModelArchive& archive);

}  // namespace srkit
