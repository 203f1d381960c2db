// A single-image network from a .srkit model file (models/model_archive.h has the format):
// `srkit train` exports to it; the registry opens it by architecture (registry.h).
//
//   srkit::save_model_file("photos_x4.srkit", network, {{"name", "photos_x4"}});
//   srkit::NativeModel model("photos_x4.srkit");       // a srkit::Model for the engine
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "srkit/models/model.h"
#include "srkit/models/model_archive.h"
#include "srkit/nn/network.h"

namespace srkit {

// Writes atomically (temporary file + rename). `about` is free-form JSON kept with the weights
// ("name", "trained_by", "steps", ...); the network's config is added under "network".
void save_model_file(const std::filesystem::path& path, NetworkImpl& network,
                     const nlohmann::json& about);

struct ModelFile {
  Network network;       // weights loaded, in eval mode
  nlohmann::json about;  // as saved, with "network" = the config
};

// Throws a setup Error naming the file when it is missing, not a srkit model, a guided model, or
// damaged.
ModelFile load_model_file(const std::filesystem::path& path);
// The single-image network of a model file already opened.
ModelFile read_model_file(const ModelArchive& archive);

class NativeModel : public Model {
 public:
  explicit NativeModel(const std::filesystem::path& path);
  NativeModel(ModelFile file, const std::filesystem::path& path);
  const ModelCard& card() const override { return card_; }
  void prepare(const torch::Device& device, bool channels_last) override;
  torch::Tensor forward(const torch::Tensor& input) override;

 private:
  ModelCard card_;
  Network network_;
  bool channels_last_ = false;
};

}  // namespace srkit
