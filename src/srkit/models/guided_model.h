// A trained MAG-Net as a Model (task "guided": it takes the low-resolution target as the image,
// a "guide" on the output grid and a task) and as a .srkit file (architecture "magnet"). Running
// it over a user's images in their own units, whole or in tiles, is the engine's
// (engine/guided_upscale.h).
//
//   srkit::save_guided_model("runs/magnet/magnet.srkit", *net, {{"name", "magnet"}});
//   auto model = srkit::load_model({"runs/magnet/magnet.srkit"});   // a GuidedModel
//   auto out = model->run({.image = lr, .extras = {{"guide", rgb}}, .task = "depth"});
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

#include "srkit/models/model.h"
#include "srkit/models/model_archive.h"
#include "srkit/nn/magnet.h"

namespace srkit {

class GuidedModel : public Model {
 public:
  // `about`: the file's description ("name", "tasks", ...); `source`: the file it came from, or
  // "" for a network in hand.
  GuidedModel(MagNet network, const nlohmann::json& about, const std::string& source);
  const ModelCard& card() const override { return card_; }
  void prepare(const torch::Device& device, bool channels_last) override;
  // input.image [N,C1,h,w] and extras "guide" [N,C2,H,W] in [0,1], H = h * scale; input.task
  // one of "depth", "pan", "mri". Diagnostics "experts.L": per routed level L, how many pixels
  // chose each expert ([M], the router's top-k in eval mode).
  torch::Tensor run(const ModelInput& input, ModelDiagnostics* diagnostics = nullptr) override;

 private:
  MagNet network_;
  ModelCard card_;
};

// Activation bytes of one forward pass per guide-grid pixel (measured peak, float32).
double guided_bytes_per_pixel(const MagNetConfig& config);

// Writes a MAG-Net as a .srkit model file (atomic); `about` is free-form ("name", "tasks",
// "steps", ...).
void save_guided_model(const std::filesystem::path& path, MagNetImpl& network,
                       const nlohmann::json& about);

// The MAG-Net of a model file already opened.
MagNet read_guided_network(const ModelArchive& archive);

struct GuidedModelFile {
  MagNet network{nullptr};  // weights loaded, eval mode
  nlohmann::json about;     // as saved, with "network" = the config
};

// Throws a setup Error naming the file when it is missing, damaged, or not a MAG-Net file.
GuidedModelFile load_guided_model(const std::filesystem::path& path);

// Whether a .srkit file holds a guided model (MAG-Net) rather than a single-image network.
bool is_guided_model_file(const std::filesystem::path& path);

}  // namespace srkit
