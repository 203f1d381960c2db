#include "srkit/models/one_step_flow_model.h"

#include <cmath>
#include <stdexcept>

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/nn/layers.h"

namespace srkit {

torch::Tensor one_step_generate(FlowUNetImpl& network, const torch::Tensor& condition,
                                const FlowModelSettings& settings, double level) {
  const auto start = flow_target((condition + 1) * 0.5, condition, settings);
  const auto s = torch::full({condition.size(0)}, level, condition.options());
  return start - level * network.forward(start, condition, s);
}

OneStepFlowModel::OneStepFlowModel(FlowUNet network, FlowModelSettings settings, double level,
                                   const nlohmann::json& about, const std::string& source)
    : network_(std::move(network)), settings_(settings), level_(level) {
  network_->eval();
  card_ = flow_network_card(*network_, settings, about, source);
  card_.task = "sr";
  card_.architecture = "flow_unet_one_step " + to_json(network_->options()).dump();
  // The network's reach on the output grid, plus the bicubic upsampling's 2 input pixels.
  card_.receptive_radius =
      std::ceil(static_cast<double>(network_->receptive_radius()) / settings.scale) + 2;
}

void OneStepFlowModel::prepare(const torch::Device& device, bool channels_last) {
  network_->to(device);
  set_channels_last(*network_, channels_last);
  channels_last_ = channels_last;
}

torch::Tensor OneStepFlowModel::forward(const torch::Tensor& input) {
  torch::NoGradGuard no_grad;
  auto padded = padded_flow_condition(input, *network_, settings_, card_.name);
  const int64_t height = input.size(2) * settings_.scale, width = input.size(3) * settings_.scale;
  if (channels_last_) padded = padded.contiguous(torch::MemoryFormat::ChannelsLast);
  const auto x = one_step_generate(*network_, padded, settings_, level_);
  return flow_image(x.slice(2, 0, height).slice(3, 0, width),
                    padded.slice(2, 0, height).slice(3, 0, width), settings_);
}

void save_one_step_flow_model(const std::filesystem::path& path, FlowUNetImpl& network,
                              const FlowModelSettings& settings, double level,
                              const nlohmann::json& about) {
  nlohmann::json description = about;
  description["network"] = to_json(network.options());
  description["network"]["architecture"] = "flow_unet_one_step";
  description["flow"] = to_json(settings);
  description["one_step"] = {{"level", level}};
  save_model_archive(path, network, description);
}

std::unique_ptr<OneStepFlowModel> read_one_step_flow_model(const ModelArchive& archive) {
  FlowUNet network{nullptr};
  FlowModelSettings settings;
  double level = 1;
  try {
    auto options = archive.description().at("network");
    options.erase("architecture");
    network = FlowUNet(flow_unet_options(options));
    settings = flow_model_settings(archive.description().at("flow"));
    level = archive.description().at("one_step").at("level").get<double>();
    if (!(level > 0 && level <= 1)) throw std::runtime_error("damaged description");
    archive.load_weights(*network);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kUsage) throw;
    throw damaged_model_file(archive.path());
  } catch (const std::exception&) {
    throw damaged_model_file(archive.path());
  }
  return std::make_unique<OneStepFlowModel>(network, settings, level, archive.description(),
                                            archive.path().string());
}

}  // namespace srkit
