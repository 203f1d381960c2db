// srkit's own model file (".srkit", one versioned format for every native network): a LibTorch
// archive with the network's weights and a description (JSON: "format" srkit-model, "version",
// "network" = the config with its "architecture", and how it was made). `srkit train` exports
// to it; the registry opens it by architecture (registry.h). Version 1 files, and the guided
// models of format "srkit-guided-model", still load.
//
//   srkit::save_model_file("photos_x4.srkit", network, {{"name", "photos_x4"}});
//   srkit::NativeModel model("photos_x4.srkit");       // a srkit::Model for the engine
#pragma once

#include <filesystem>
#include <string>

#include <torch/nn/module.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <nlohmann/json.hpp>

#include "srkit/core/error.h"
#include "srkit/models/model.h"
#include "srkit/nn/network.h"

namespace srkit {

inline constexpr const char* kModelFileExtension = ".srkit";

// Writes atomically (temporary file + rename). `about` is free-form JSON kept with the weights
// ("name", "trained_by", "steps", ...); the network's config is added under "network".
void save_model_file(const std::filesystem::path& path, NetworkImpl& network,
                     const nlohmann::json& about);

// Writes a model file: `description` (with its "network" config) and the module's weights.
void save_model_archive(const std::filesystem::path& path, torch::nn::Module& network,
                        const nlohmann::json& description);

// The architecture of the model file at `path` whose description is `about` ("rdn", "magnet",
// ...). A setup Error naming the file when it is not a srkit model file or one of a newer
// version.
std::string model_file_architecture(const std::filesystem::path& path, const nlohmann::json& about);

// Saves a LibTorch archive atomically (temporary file + rename); an output Error naming `path` and
// `what` ("the model file", "the checkpoint") when it cannot be written.
void save_archive_atomically(torch::serialize::OutputArchive& archive,
                             const std::filesystem::path& path, const std::string& what);

// Loads the srkit archive at `path` into `archive` (for the caller to read the weights from) and
// returns its description: the JSON a save_*_model function wrote, or null when the archive has
// none. A missing file or one LibTorch cannot read is a setup Error naming it.
nlohmann::json read_archive_description(const std::filesystem::path& path,
                                        torch::serialize::InputArchive& archive);

// Inside a catch block while loading a model file: the exception in flight as the error a user
// sees. srkit Errors stay as they are; LibTorch's and others' say the file is damaged.
Error damaged_model_file(const std::filesystem::path& path);

struct ModelFile {
  Network network;       // weights loaded, in eval mode
  nlohmann::json about;  // as saved, with "network" = the config
};

// Throws a setup Error naming the file when it is missing, not a srkit model, a guided model, or
// damaged.
ModelFile load_model_file(const std::filesystem::path& path);
// The single-image network of an archive already opened (its description is `about`).
ModelFile read_model_file(const std::filesystem::path& path, const nlohmann::json& about,
                          torch::serialize::InputArchive& archive);

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
