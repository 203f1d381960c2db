#include "srkit/models/adapter_file.h"

#include "srkit/core/error.h"
#include "srkit/models/model_archive.h"

namespace srkit {

namespace {

const nlohmann::json& adapter_description(const ModelArchive& archive) {
  const auto& about = archive.description();
  if (!about.is_object() || !about.contains("adapter") || !about.at("adapter").is_object()) {
    throw setup_error(archive.path().string() +
                      ": not a LoRA adapter file (a model file has no \"adapter\" description)");
  }
  return about.at("adapter");
}

}  // namespace

void save_adapter_file(const std::filesystem::path& path, Lora& adapter,
                       const nlohmann::json& base) {
  auto about = to_json(adapter->options());
  about["layers"] = adapter->layers();
  about["shapes"] = adapter->shapes();
  save_model_archive(path, *adapter, {{"adapter", about}, {"base", base}});
}

Lora load_adapter_file(const std::filesystem::path& path, torch::nn::Module& network) {
  const ModelArchive archive(path);
  const auto& about = adapter_description(archive);
  LoraOptions options;
  std::vector<std::string> layers;
  std::vector<std::vector<int64_t>> shapes;
  try {
    auto settings = about;
    layers = settings.at("layers").get<std::vector<std::string>>();
    shapes = settings.at("shapes").get<std::vector<std::vector<int64_t>>>();
    settings.erase("layers");
    settings.erase("shapes");
    options = lora_options(settings);
  } catch (const std::exception& e) {
    throw setup_error(path.string() + ": damaged LoRA adapter file (" + e.what() + ")");
  }
  Lora adapter{nullptr};
  try {
    adapter = Lora(network, options, /*seed=*/0);
  } catch (const Error& e) {
    throw setup_error(path.string() + ": this adapter was made for another network (" + e.what() +
                      ")");
  }
  if (adapter->layers() != layers || adapter->shapes() != shapes) {
    throw setup_error(path.string() +
                      ": this adapter was made for another network (its layers or their shapes "
                      "are not this network's); give the model it was trained on");
  }
  archive.load_weights(*adapter);
  return adapter;
}

nlohmann::json adapter_file_base(const std::filesystem::path& path) {
  const ModelArchive archive(path);
  adapter_description(archive);
  return archive.description().value("base", nlohmann::json::object());
}

}  // namespace srkit
