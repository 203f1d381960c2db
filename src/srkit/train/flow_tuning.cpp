#include "srkit/train/flow_tuning.h"

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/io/sha256.h"
#include "srkit/models/adapter_file.h"
#include "srkit/models/model_archive.h"

namespace srkit {

InitialFlowModel read_initial_flow_model(const TrainConfig& config) {
  const ModelArchive archive(config.init);
  if (archive.architecture() != "flow_unet") {
    throw usage_error(config.source.string() + ": init " + config.init +
                      " is not a flow model (its architecture is " + archive.architecture() + ")");
  }
  const auto model = read_flow_model(archive);
  InitialFlowModel base;
  base.network =
      FlowUNet(std::dynamic_pointer_cast<FlowUNetImpl>(model->network().shared_from_this()));
  base.network->train();
  base.settings = model->settings();
  if (base.settings.scale != config.scale) {
    throw usage_error(config.source.string() + ": init " + config.init + " upscales x" +
                      std::to_string(base.settings.scale) + ", model.scale is " +
                      std::to_string(config.scale));
  }
  base.identity = {{"name", model->card().name},
                   {"file", std::filesystem::path(config.init).filename().string()},
                   {"sha256", sha256_file(config.init)}};
  base.adapters = model->card().adapters;
  return base;
}

Lora add_trainable_adapter(torch::nn::Module& network, const TrainConfig& config,
                           LoraStack& stack) {
  for (auto& p : network.parameters()) p.requires_grad_(false);
  Lora adapter{nullptr};
  try {
    adapter = Lora(network, config.lora, config.seed);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kUsage) throw;
    throw usage_error(config.source.string() + ": " + e.what());
  }
  stack.add(config.name, adapter);
  return adapter;
}

Lora load_adapter_for(const std::filesystem::path& path, const InitialFlowModel& base,
                      torch::nn::Module& network, const TrainConfig& config,
                      const std::string& key) {
  const auto made_on = adapter_file_base(path);
  if (made_on.value("sha256", std::string()) != base.identity.at("sha256").get<std::string>()) {
    throw usage_error(config.source.string() + ": " + key + ": " + path.string() +
                      " was trained on " + made_on.value("file", std::string("another model")) +
                      ", not on init " + config.init + "; train it on init (or change init)");
  }
  return load_adapter_file(path, network);
}

FlowUNet merged_network(FlowUNetImpl& network, const std::vector<Lora>& adapters) {
  FlowUNet merged(network.options());
  {
    torch::NoGradGuard no_grad;
    const auto from = network.named_parameters();
    for (auto& item : merged->named_parameters()) item.value().copy_(from[item.key()]);
    const auto buffers = network.named_buffers();
    for (auto& item : merged->named_buffers()) item.value().copy_(buffers[item.key()]);
  }
  LoraStack stack(*merged);
  for (size_t k = 0; k < adapters.size(); ++k) {
    const auto name = std::to_string(k);
    stack.add(name, adapters[k]);
    stack.merge(name);
  }
  return merged;
}

std::filesystem::path adapter_path_of(const std::filesystem::path& model_file) {
  return model_file.parent_path() / (model_file.stem().string() + ".lora" + kModelFileExtension);
}

void export_adapted_flow_model(const std::filesystem::path& path, const InitialFlowModel& base,
                               const std::string& name, Lora& adapter, nlohmann::json about) {
  const auto adapter_file = adapter_path_of(path);
  auto listed = to_json(adapter->options());
  listed["name"] = name;
  listed["file"] = adapter_file.filename().string();
  about["adapters"] = base.adapters;
  about["adapters"].push_back(listed);
  about["base"] = base.identity;
  auto merged = merged_network(*base.network.ptr(), {adapter});
  save_flow_model(path, *merged, base.settings, about);
  save_adapter_file(adapter_file, adapter, base.identity);
}

}  // namespace srkit
