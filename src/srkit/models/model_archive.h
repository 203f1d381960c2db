// The .srkit file on disk, for every kind of model: a description (JSON: "format" srkit-model,
// "version", "network" = the config with its "architecture", and how it was made) and the
// network's weights.
//
// Version 3 (what srkit writes) is a zip archive in the layout of NumPy's .npz: "srkit.json"
// and one float32 .npy per parameter or buffer, named by its path in the module
// ("body.0.weight.npy"). srkit reads it with its own readers (libzip and the .npy parser): nothing
// in the file is compiled or unpickled, and no size the file declares is allocated before it is
// checked against the shapes of the network its description builds.
//
// Versions 1 and 2 were LibTorch archives (torch::serialize), which LibTorch reads by compiling
// the TorchScript source stored in them; a damaged or hostile one can crash it
// (tests/fixtures/fuzz/libtorch_*.srkit). They are opened only to upgrade them
// (upgrade_model_file in registry.h, `srkit models --upgrade`); elsewhere they are an Error
// saying so.
//
//   srkit::save_model_archive("photos_x4.srkit", network, description);
//   srkit::ModelArchive archive("photos_x4.srkit");
//   auto net = srkit::make_network(archive.description().at("network"));
//   archive.load_weights(*net);
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <torch/nn/module.h>
#include <nlohmann/json.hpp>

#include "srkit/core/error.h"

namespace srkit {

class NpzArchive;  // io/numpy_file.h

inline constexpr const char* kModelFileExtension = ".srkit";
// The model file version this srkit writes.
inline constexpr int kModelFileVersion = 3;

// Writes `network`'s weights and `description` (given "format" and "version") as a version-3
// model file, atomically; an output Error naming `path` when it cannot be written.
void save_model_archive(const std::filesystem::path& path, torch::nn::Module& network,
                        const nlohmann::json& description);

enum class LegacyArchives { kRefuse, kRead };

class ModelArchive {
 public:
  // Opens the model file at `path` and reads its description. A setup Error naming the file
  // when it is missing or not a model file; a LibTorch archive (versions 1-2) is such an Error,
  // with the command that upgrades it, unless `legacy` is kRead.
  explicit ModelArchive(const std::filesystem::path& path,
                        LegacyArchives legacy = LegacyArchives::kRefuse);
  ~ModelArchive();
  ModelArchive(ModelArchive&&) noexcept;
  ModelArchive& operator=(ModelArchive&&) noexcept;

  const std::filesystem::path& path() const { return path_; }
  // As saved: an object with "format", "version" and "network".
  const nlohmann::json& description() const { return description_; }
  // "rdn", "magnet", ... A setup Error naming the file when it is not a srkit model or of a newer
  // version.
  std::string architecture() const;

  // Copies the stored weights into `module`'s parameters and buffers. Every one must be stored
  // with the module's shape, and nothing else may be: otherwise a setup Error naming the file and
  // the weight (a file whose description does not match its weights is damaged).
  void load_weights(torch::nn::Module& module) const;

 private:
  struct Legacy;
  std::filesystem::path path_;
  nlohmann::json description_;
  std::unique_ptr<NpzArchive> weights_;  // version 3
  std::unique_ptr<Legacy> legacy_;       // versions 1-2, when asked for
};

// Inside a catch block while loading a model file: the exception in flight as the error a user
// sees. srkit Errors stay as they are; LibTorch's and others' say the file is damaged.
Error damaged_model_file(const std::filesystem::path& path);

}  // namespace srkit
