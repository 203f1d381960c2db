#include "srkit/models/multimodal_model.h"

#include <stdexcept>

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/io/sha256.h"
#include "srkit/nn/layers.h"

namespace srkit {

MultimodalModel::MultimodalModel(M3esr network, std::vector<double> temperatures,
                                 const nlohmann::json& about, const std::string& source)
    : network_(std::move(network)), temperatures_(std::move(temperatures)) {
  network_->eval();
  const auto& config = network_->config();
  card_.name = about.value("name", std::filesystem::path(source).stem().string());
  card_.task = "multimodal";
  card_.architecture = "m3esr " + config.to_json().dump();
  card_.scale = config.scale;
  card_.receptive_radius = network_->receptive_radius();
  card_.parameters = network_->parameter_count();
  card_.flops_per_input_pixel = network_->flops_per_input_pixel();
  card_.peak_bytes_per_input_pixel = network_->peak_bytes_per_input_pixel();
  card_.inputs = config.modalities;
  if (about.contains("maps") && about.at("maps").is_object()) {
    segmentation_region_ = about.at("maps").value("segmentation_region", int64_t{8});
  }
  card_.licence = about.value("licence", std::string("see the training data's licence"));
  card_.source = source;
  if (!source.empty()) {
    card_.sha256[std::filesystem::path(source).filename().string()] = sha256_file(source);
  }
}

void MultimodalModel::prepare(const torch::Device& device, bool channels_last) {
  network_->to(device);
  set_channels_last(*network_, channels_last);
}

torch::Tensor MultimodalModel::run(const ModelInput& input, ModelDiagnostics* diagnostics) {
  torch::NoGradGuard no_grad;
  const auto& config = network_->config();
  const auto& lr = input.image;
  if (lr.dim() != 4 || lr.size(1) != 3) {
    throw usage_error("{{model}} " + card_.name + " takes [N,3,h,w] RGB images");
  }
  const int64_t n = lr.size(0), height = lr.size(2) * config.scale,
                width = lr.size(3) * config.scale;
  for (const auto& [name, map] : input.extras) {
    if (std::find(config.modalities.begin(), config.modalities.end(), name) ==
        config.modalities.end()) {
      throw usage_error("{{modality}} " + name + ": " + card_.name + " was trained with " +
                        (config.modalities.empty() ? std::string("no modalities")
                                                   : nlohmann::json(config.modalities).dump()));
    }
  }
  std::vector<torch::Tensor> maps;
  auto present = torch::zeros({n, static_cast<int64_t>(config.modalities.size())});
  for (size_t k = 0; k < config.modalities.size(); ++k) {
    const auto found = input.extras.find(config.modalities[k]);
    if (found == input.extras.end()) {
      maps.emplace_back();
      continue;
    }
    const auto& map = found->second;
    if (map.dim() != 4 || map.size(0) != n || map.size(1) != config.channels[k] ||
        map.size(2) != height || map.size(3) != width) {
      throw usage_error(
          "{{modality}} " + config.modalities[k] + ": the map must be [" + std::to_string(n) + "," +
          std::to_string(config.channels[k]) + "," + std::to_string(height) + "," +
          std::to_string(width) + "] (the output grid), got " + std::to_string(map.size(1)) +
          " channels of " + std::to_string(map.size(2)) + "x" + std::to_string(map.size(3)));
    }
    maps.push_back(map.to(lr.dtype()));
    present.select(1, static_cast<int64_t>(k)).fill_(1);
  }
  const auto temperatures =
      torch::tensor(std::vector<float>(temperatures_.begin(), temperatures_.end()));
  auto out = network_->forward(lr, maps, present.to(lr.device(), lr.dtype()),
                               temperatures.to(lr.device(), lr.dtype()));
  if (diagnostics && out.weights.defined()) (*diagnostics)["weights"] = out.weights;
  return out.image;
}

void save_multimodal_model(const std::filesystem::path& path, M3esrImpl& network,
                           const std::vector<double>& temperatures, const nlohmann::json& about) {
  nlohmann::json description = about;
  description["network"] = network.config().to_json();
  description["temperatures"] = temperatures;
  save_model_archive(path, network, description);
}

std::unique_ptr<MultimodalModel> read_multimodal_model(const ModelArchive& archive) {
  M3esr network{nullptr};
  std::vector<double> temperatures;
  try {
    network = M3esr(m3esr_config(archive.description().at("network")));
    temperatures = archive.description().at("temperatures").get<std::vector<double>>();
    if (temperatures.size() != network->config().modalities.size()) {
      throw std::runtime_error("damaged description");
    }
    for (double t : temperatures) {
      if (!(t > 0)) throw std::runtime_error("damaged description");
    }
    const auto& about = archive.description();
    if (about.contains("maps") && about.at("maps").value("segmentation_region", int64_t{8}) < 2) {
      throw std::runtime_error("damaged description");
    }
    archive.load_weights(*network);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kUsage) throw;
    throw damaged_model_file(archive.path());
  } catch (const std::exception&) {
    throw damaged_model_file(archive.path());
  }
  return std::make_unique<MultimodalModel>(network, temperatures, archive.description(),
                                           archive.path().string());
}

}  // namespace srkit
