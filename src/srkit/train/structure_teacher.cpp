#include "srkit/train/structure_teacher.h"

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/io/sha256.h"
#include "srkit/models/model_archive.h"

namespace srkit {

StructureAdapterOptions structure_adapter_options(const TrainConfig& config,
                                                  const FlowUNetImpl& network) {
  StructureAdapterOptions options;
  options.branches = structure_channels(config.structure.conditioning);
  options.weights = config.structure.weights;
  options.level_widths = network.level_widths();
  options.channels = config.structure.channels;
  options.blocks = config.structure.blocks;
  return options;
}

void save_conditioned_flow_teacher(const std::filesystem::path& path,
                                   ConditionedFlowUNetImpl& teacher,
                                   const FlowModelSettings& settings,
                                   const StructureConditioning& conditioning,
                                   const nlohmann::json& about) {
  nlohmann::json description = about;
  description["network"] = to_json(teacher.network->options());
  description["network"]["architecture"] = "flow_unet_conditioned";
  description["flow"] = to_json(settings);
  description["structure"] = {{"conditioning", to_json(conditioning)},
                              {"adapter", to_json(teacher.adapter->options())}};
  save_model_archive(path, teacher, description);
}

FlowTeacher read_flow_teacher(const std::filesystem::path& path, const TrainConfig& config,
                              const std::string& key) {
  const ModelArchive archive(path);
  const auto architecture = archive.architecture();
  FlowTeacher teacher;
  if (architecture == "flow_unet") {
    const auto model = read_flow_model(archive);
    teacher.network =
        FlowUNet(std::dynamic_pointer_cast<FlowUNetImpl>(model->network().shared_from_this()));
    teacher.settings = model->settings();
  } else if (architecture == "flow_unet_conditioned") {
    try {
      const auto& description = archive.description();
      auto options = description.at("network");
      options.erase("architecture");
      teacher.network = FlowUNet(flow_unet_options(options));
      teacher.settings = flow_model_settings(description.at("flow"));
      teacher.conditioning = structure_conditioning(description.at("structure").at("conditioning"));
      teacher.conditioned = ConditionedFlowUNet(
          teacher.network, structure_adapter_options(description.at("structure").at("adapter")));
      archive.load_weights(*teacher.conditioned);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kUsage) throw;
      throw damaged_model_file(path);
    } catch (const std::exception&) {
      throw damaged_model_file(path);
    }
  } else {
    throw usage_error(config.source.string() + ": " + key + " " + path.string() +
                      " is not a flow model (its architecture is " + architecture +
                      "): give the SFT flow model or a teacher trained with a structure section");
  }
  if (teacher.settings.scale != config.scale) {
    throw usage_error(config.source.string() + ": " + key + " " + path.string() + " upscales x" +
                      std::to_string(teacher.settings.scale) + ", model.scale is " +
                      std::to_string(config.scale));
  }
  torch::nn::Module& module = teacher.conditioned
                                  ? static_cast<torch::nn::Module&>(*teacher.conditioned)
                                  : *teacher.network;
  module.eval();
  for (auto& p : module.parameters()) p.requires_grad_(false);
  teacher.identity = {{"name", archive.description().value("name", path.stem().string())},
                      {"file", path.filename().string()},
                      {"sha256", sha256_file(path)}};
  return teacher;
}

}  // namespace srkit
