#include "srkit/models/guided_model.h"

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/core/guided_task.h"
#include "srkit/io/sha256.h"
#include "srkit/models/model_file.h"
#include "srkit/nn/layers.h"

namespace srkit {
namespace {

// Peak float32 activation bytes per guide-grid pixel and feature channel of a MAG-Net forward
// pass in eval mode: bench/guided_tiling.sh measured 4,161 and 5,550 bytes per pixel for the
// C 16 configuration in two runs (peak RSS slope from 0.07 to 1 MP guides); the larger is used.
constexpr double kBytesPerPixelPerChannel = 347;

}  // namespace

GuidedModel::GuidedModel(MagNet network, const nlohmann::json& about, const std::string& source)
    : network_(std::move(network)) {
  network_->eval();
  const auto& config = network_->config();
  card_.name = about.value("name", std::filesystem::path(source).stem().string());
  card_.task = "guided";
  card_.architecture = config.to_json().dump();
  card_.scale = 0;        // any integer scale: the guide's grid sets it
  card_.in_channels = 0;  // per task: 1 (depth, MR) or 4 (pan)
  card_.out_channels = 0;
  card_.parameters = network_->parameter_count();
  card_.peak_bytes_per_input_pixel = guided_bytes_per_pixel(config);
  card_.inputs = {"guide"};
  for (const auto& task : about.value("tasks", nlohmann::json::array())) {
    card_.tasks.push_back(task.get<std::string>());
  }
  if (card_.tasks.empty()) {
    for (int t = 0; t < kGuidedTaskCount; ++t) {
      card_.tasks.push_back(guided_task_info(static_cast<GuidedTask>(t)).name);
    }
  }
  card_.licence = about.value("licence", std::string("see the training data's licence"));
  card_.source = source;
  if (!source.empty()) {
    card_.sha256[std::filesystem::path(source).filename().string()] = sha256_file(source);
  }
}

void GuidedModel::prepare(const torch::Device& device, bool channels_last) {
  network_->to(device);
  set_channels_last(*network_, channels_last);
}

torch::Tensor GuidedModel::run(const ModelInput& input, ModelDiagnostics* diagnostics) {
  const auto guide = input.extras.find("guide");
  if (guide == input.extras.end() || input.extras.size() != 1) {
    throw usage_error("{{model}} " + card_.name + " takes exactly one extra input, the guide");
  }
  if (input.task.empty()) {
    throw usage_error("{{model}} " + card_.name + " needs a task (depth, pan or mri)");
  }
  torch::NoGradGuard no_grad;
  auto out = network_->forward(parse_guided_task(input.task), input.image, guide->second);
  if (diagnostics) {
    for (size_t l = 0; l < out.gates.size(); ++l) {
      (*diagnostics)["experts." + std::to_string(l + 1)] =
          (out.gates[l] > 0).to(torch::kDouble).sum(0);
    }
  }
  return out.image;
}

double guided_bytes_per_pixel(const MagNetConfig& config) {
  return kBytesPerPixelPerChannel * static_cast<double>(config.dim);
}

void save_guided_model(const std::filesystem::path& path, MagNetImpl& network,
                       const nlohmann::json& about) {
  nlohmann::json description = about;
  description["network"] = network.config().to_json();
  save_model_archive(path, network, description);
}

MagNet read_guided_network(const ModelArchive& archive) {
  try {
    // The text features are part of the weights (buffer "fixed_text"), so no embedding file is
    // needed to load: the zeros given here are replaced by the stored features.
    const auto config = MagNetConfig::from_json(archive.description().at("network"));
    MagNet network(config, torch::zeros({kGuidedTaskCount, config.text_dim}));
    archive.load_weights(*network);
    network->eval();
    set_channels_last(*network, true);
    return network;
  } catch (...) {
    throw damaged_model_file(archive.path());
  }
}

bool is_guided_model_file(const std::filesystem::path& path) {
  try {
    return ModelArchive(path).architecture() == "magnet";
  } catch (const Error&) {
    return false;
  }
}

GuidedModelFile load_guided_model(const std::filesystem::path& path) {
  const ModelArchive archive(path);
  if (archive.architecture() != "magnet") {
    throw setup_error(path.string() +
                      " is not a guided (MAG-Net) model file: train one with a "
                      "magnet config (docs/guided.md)");
  }
  return {read_guided_network(archive), archive.description()};
}

}  // namespace srkit
