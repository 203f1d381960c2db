// A trained MAG-Net as a file (".srkit", architecture "magnet"). Running it over a user's images
// is the engine's (engine/guided_upscale.h).
//
//   srkit::save_guided_model("runs/magnet/magnet.srkit", *net, {{"name", "magnet"}});
//   auto model = srkit::load_guided_model("runs/magnet/magnet.srkit");
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

#include "srkit/nn/magnet.h"

namespace srkit {

struct GuidedModelFile {
  MagNet network{nullptr};  // weights loaded, eval mode
  nlohmann::json about;     // as saved, with "network" = the config
};

// Atomic; `about` is free-form ("name", "tasks", "steps", ...).
void save_guided_model(const std::filesystem::path& path, MagNetImpl& network,
                       const nlohmann::json& about);

// Throws a setup Error naming the file when it is missing, damaged, or not a MAG-Net file.
GuidedModelFile load_guided_model(const std::filesystem::path& path);

// Whether a .srkit file holds a guided model (MAG-Net) rather than a single-image network.
bool is_guided_model_file(const std::filesystem::path& path);

}  // namespace srkit
