#include "srkit/models/guided_model.h"

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/models/model_file.h"
#include "srkit/nn/layers.h"

namespace srkit {
namespace {

constexpr const char* kFormat = "srkit-guided-model";

}  // namespace

void save_guided_model(const std::filesystem::path& path, MagNetImpl& network,
                       const nlohmann::json& about) {
  nlohmann::json description = about;
  description["format"] = kFormat;
  description["network"] = network.config().to_json();
  torch::serialize::OutputArchive archive, weights;
  archive.write("srkit", c10::IValue(description.dump()));
  network.save(weights);
  archive.write("weights", weights);
  save_archive_atomically(archive, path, "the model file");
}

bool is_guided_model_file(const std::filesystem::path& path) {
  torch::serialize::InputArchive archive;
  try {
    const auto description = read_archive_description(path, archive);
    return description.is_object() && description.value("format", std::string()) == kFormat;
  } catch (const Error&) {
    return false;
  }
}

GuidedModelFile load_guided_model(const std::filesystem::path& path) {
  torch::serialize::InputArchive archive;
  const auto description = read_archive_description(path, archive);
  if (!description.is_object() || description.value("format", std::string()) != kFormat) {
    throw setup_error(path.string() + " is not a guided (MAG-Net) model file: train one with a "
                      "magnet config (docs/guided.md)");
  }
  GuidedModelFile file;
  file.about = description;
  try {
    // The text features are part of the weights (buffer "fixed_text"), so no embedding file is
    // needed to load: the zeros given here are replaced by the stored features.
    const auto config = MagNetConfig::from_json(description.at("network"));
    file.network = MagNet(config, torch::zeros({kGuidedTaskCount, config.text_dim}));
    torch::serialize::InputArchive weights;
    archive.read("weights", weights);
    file.network->load(weights);
  } catch (...) {
    throw damaged_model_file(path);
  }
  file.network->eval();
  set_channels_last(*file.network, true);
  return file;
}

}  // namespace srkit
