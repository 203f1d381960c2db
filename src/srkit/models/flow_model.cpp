#include "srkit/models/flow_model.h"

#include <set>

#include <torch/nn/functional/padding.h>
#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/io/sha256.h"
#include "srkit/nn/layers.h"
#include "srkit/ops/resize.h"

namespace srkit {

nlohmann::json to_json(const FlowModelSettings& settings) {
  return {{"scale", settings.scale},
          {"residual", settings.residual},
          {"residual_scale", settings.residual_scale},
          {"solver", flow_solver_name(settings.sampling.solver)},
          {"steps", settings.sampling.steps},
          {"shift", settings.sampling.shift}};
}

FlowModelSettings flow_model_settings(const nlohmann::json& json) {
  static const std::set<std::string> kKeys{"scale",  "residual", "residual_scale",
                                           "solver", "steps",    "shift"};
  if (!json.is_object()) throw usage_error("flow model: the settings are not an object");
  for (const auto& [key, value] : json.items()) {
    if (!kKeys.count(key)) throw usage_error("flow model: unknown key '" + key + "'");
  }
  FlowModelSettings settings;
  const auto integer = [&](const char* key, int64_t& field, int64_t least, int64_t most) {
    if (!json.contains(key)) return;
    const auto& v = json.at(key);
    if (!v.is_number_integer() || v.get<int64_t>() < least || v.get<int64_t>() > most) {
      throw usage_error(std::string("flow model: '") + key + "' must be an integer in " +
                        std::to_string(least) + ".." + std::to_string(most));
    }
    field = v.get<int64_t>();
  };
  const auto positive = [&](const char* key, double& field) {
    if (!json.contains(key)) return;
    const auto& v = json.at(key);
    if (!v.is_number() || !(v.get<double>() > 0) || v.get<double>() > 1e3) {
      throw usage_error(std::string("flow model: '") + key + "' must be a number in (0, 1000]");
    }
    field = v.get<double>();
  };
  integer("scale", settings.scale, 1, 16);
  integer("steps", settings.sampling.steps, 1, 1000);
  positive("residual_scale", settings.residual_scale);
  positive("shift", settings.sampling.shift);
  if (json.contains("residual")) {
    if (!json.at("residual").is_boolean()) {
      throw usage_error("flow model: 'residual' must be true or false");
    }
    settings.residual = json.at("residual").get<bool>();
  }
  if (json.contains("solver")) {
    if (!json.at("solver").is_string()) throw usage_error("flow model: 'solver' must be a name");
    settings.sampling.solver = flow_solver_from_name(json.at("solver").get<std::string>());
  }
  return settings;
}

ModelCard flow_network_card(const FlowUNetImpl& network, const FlowModelSettings& settings,
                            const nlohmann::json& about, const std::string& source) {
  ModelCard card;
  card.name = about.value("name", std::filesystem::path(source).stem().string());
  card.scale = settings.scale;
  card.parameters = network.parameter_count();
  // The network runs on the output grid.
  const double pixels = static_cast<double>(settings.scale * settings.scale);
  card.flops_per_input_pixel = network.flops_per_pixel() * pixels;
  card.peak_bytes_per_input_pixel = network.peak_bytes_per_pixel() * pixels;
  card.licence = about.value("licence", std::string("see the training data's licence"));
  card.source = source;
  if (about.contains("adapters") && about.at("adapters").is_array()) {
    card.adapters = about.at("adapters");
  }
  if (!source.empty()) {
    card.sha256[std::filesystem::path(source).filename().string()] = sha256_file(source);
  }
  return card;
}

FlowModel::FlowModel(FlowUNet network, FlowModelSettings settings, const nlohmann::json& about,
                     const std::string& source)
    : network_(std::move(network)), settings_(settings) {
  network_->eval();
  card_ = flow_network_card(*network_, settings, about, source);
  card_.task = "generative";
  card_.architecture = "flow_unet " + to_json(network_->options()).dump();
  // Per velocity.
  card_.receptive_radius = static_cast<double>(network_->receptive_radius()) / settings.scale;
  // Each output pixel of a sample depends on the input within (velocities x radius): tiles that
  // are sampled apart are not independent; engine/flow_upscale.h tiles each velocity instead.
  card_.global_context = true;
}

void FlowModel::prepare(const torch::Device& device, bool channels_last) {
  network_->to(device);
  set_channels_last(*network_, channels_last);
}

torch::Tensor flow_condition(const torch::Tensor& lr, const FlowModelSettings& settings) {
  return resize_bicubic(lr, lr.size(-2) * settings.scale, lr.size(-1) * settings.scale) * 2 - 1;
}

torch::Tensor flow_target(const torch::Tensor& hr, const torch::Tensor& condition,
                          const FlowModelSettings& settings) {
  const auto x = hr * 2 - 1;
  return settings.residual ? (x - condition) * settings.residual_scale : x;
}

torch::Tensor flow_image(const torch::Tensor& x, const torch::Tensor& condition,
                         const FlowModelSettings& settings) {
  const auto flow = settings.residual ? condition + x / settings.residual_scale : x;
  return (flow + 1) * 0.5;
}

torch::Tensor padded_flow_condition(const torch::Tensor& lr, const FlowUNetImpl& network,
                                    const FlowModelSettings& settings, const std::string& name) {
  if (lr.dim() != 4 || lr.size(1) != network.options().condition_channels) {
    throw usage_error("{{model}} " + name + " takes [N," +
                      std::to_string(network.options().condition_channels) + ",h,w] images");
  }
  const auto condition = flow_condition(lr, settings);
  const int64_t multiple = network.size_multiple();
  const int64_t height = condition.size(2), width = condition.size(3);
  namespace F = torch::nn::functional;
  return F::pad(condition, F::PadFuncOptions({0, (multiple - width % multiple) % multiple, 0,
                                              (multiple - height % multiple) % multiple})
                               .mode(torch::kReplicate));
}

torch::Tensor FlowModel::sample(const torch::Tensor& lr, uint64_t seed,
                                const FlowSampling& sampling, const GridVelocityFn& velocity,
                                int64_t top, int64_t left,
                                const std::function<void(int64_t, int64_t)>& evaluated) {
  torch::NoGradGuard no_grad;
  const auto padded = padded_flow_condition(lr, *network_, settings_, card_.name);
  const int64_t height = lr.size(2) * settings_.scale, width = lr.size(3) * settings_.scale;
  const int64_t padded_height = padded.size(2), padded_width = padded.size(3);
  const auto condition = padded.slice(2, 0, height).slice(3, 0, width);
  std::vector<torch::Tensor> noise;
  for (int64_t k = 0; k < lr.size(0); ++k) {
    noise.push_back(pixel_noise({seed + static_cast<uint64_t>(k), 0},
                                network_->options().image_channels, top * settings_.scale,
                                left * settings_.scale, padded_height, padded_width));
  }
  const auto x1 = torch::stack(noise).to(padded.options());
  const auto x0 = sample_flow(
      x1, [&](const torch::Tensor& x, double s) { return velocity(x, padded, s); }, sampling,
      evaluated);
  return flow_image(x0.slice(2, 0, height).slice(3, 0, width), condition, settings_);
}

torch::Tensor FlowModel::run(const ModelInput& input, ModelDiagnostics* /*diagnostics*/) {
  if (!input.extras.empty() || !input.task.empty()) {
    throw usage_error("{{model}} " + card_.name +
                      " takes an image alone (no extra inputs, no task)");
  }
  auto sampling = settings_.sampling;
  if (input.steps > 0) sampling.steps = input.steps;
  const GridVelocityFn whole = [&](const torch::Tensor& x, const torch::Tensor& condition,
                                   double s) {
    return network_->forward(x, condition, torch::full({x.size(0)}, s, x.options()));
  };
  return sample(input.image, input.seed, sampling, whole, input.top, input.left);
}

torch::Tensor FlowModel::forward(const torch::Tensor& input) {
  ModelInput whole;
  whole.image = input;
  return run(whole);
}

void save_flow_model(const std::filesystem::path& path, FlowUNetImpl& network,
                     const FlowModelSettings& settings, const nlohmann::json& about) {
  nlohmann::json description = about;
  description["network"] = to_json(network.options());
  description["network"]["architecture"] = "flow_unet";
  description["flow"] = to_json(settings);
  save_model_archive(path, network, description);
}

std::unique_ptr<FlowModel> read_flow_model(const ModelArchive& archive) {
  FlowUNet network{nullptr};
  FlowModelSettings settings;
  try {
    auto options = archive.description().at("network");
    options.erase("architecture");
    network = FlowUNet(flow_unet_options(options));
    settings = flow_model_settings(archive.description().at("flow"));
    archive.load_weights(*network);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kUsage) throw;
    throw damaged_model_file(archive.path());
  } catch (const std::exception&) {
    throw damaged_model_file(archive.path());
  }
  return std::make_unique<FlowModel>(network, settings, archive.description(),
                                     archive.path().string());
}

}  // namespace srkit
