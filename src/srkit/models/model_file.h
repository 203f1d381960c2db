// srkit's own model file (".srkit"): a native network's config and weights, plus a description of
// how it was made, in one LibTorch archive. `srkit train` exports its EMA weights to it and
// `srkit upscale --model PATH.srkit` runs it.
//
//   srkit::save_model_file("photos_x4.srkit", network, {{"name", "photos_x4"}});
//   srkit::NativeModel model("photos_x4.srkit");       // a srkit::Model for the engine
#pragma once

#include <filesystem>

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

// Throws a setup Error naming the file when it is missing, not a srkit model or damaged.
ModelFile load_model_file(const std::filesystem::path& path);

class NativeModel : public Model {
 public:
  explicit NativeModel(const std::filesystem::path& path);
  const ModelCard& card() const override { return card_; }
  void prepare(const torch::Device& device, bool channels_last) override;
  torch::Tensor forward(const torch::Tensor& input) override;

 private:
  ModelCard card_;
  Network network_;
  bool channels_last_ = false;
};

}  // namespace srkit
