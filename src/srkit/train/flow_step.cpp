#include "srkit/train/flow_step.h"

#include <set>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/nn/layers.h"

namespace srkit {
namespace {

const std::set<std::string> kSettingsKeys{"scale",  "residual", "residual_scale",
                                          "solver", "steps",    "shift"};

// A usage Error of the flow model's parsers, with the config file and section named.
template <typename Parse>
auto from_model_section(const TrainConfig& config, Parse parse) {
  try {
    return parse();
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kUsage) throw;
    throw usage_error(config.source.string() + ": model: " + e.what());
  }
}

// The generator of training step `step`: the same noise on a resumed run.
at::Generator step_generator(uint64_t seed, int64_t step) {
  return at::make_generator<at::CPUGeneratorImpl>(seed * 0x9E3779B97F4A7C15ULL +
                                                  static_cast<uint64_t>(step));
}

}  // namespace

bool is_flow_config(const TrainConfig& config) {
  return config.network.value("architecture", std::string()) == "flow_unet";
}

FlowUNetOptions flow_network_options(const TrainConfig& config) {
  auto network = config.network;
  network.erase("architecture");
  for (const auto& key : kSettingsKeys) network.erase(key);
  return from_model_section(config, [&] { return flow_unet_options(network); });
}

FlowModelSettings flow_settings(const TrainConfig& config) {
  nlohmann::json settings = nlohmann::json::object();
  for (const auto& key : kSettingsKeys) {
    if (config.network.contains(key)) settings[key] = config.network.at(key);
  }
  return from_model_section(config, [&] { return flow_model_settings(settings); });
}

FlowStep::FlowStep(const TrainConfig& config, ProcessGroup& group)
    : config_(config),
      batches_(config, group.rank(), group.world_size()),
      settings_(flow_settings(config)),
      rank_(group.rank()),
      world_(group.world_size()) {
  if (!config.init.empty()) {
    throw usage_error(config.source.string() + ": init: a flow model trains from scratch");
  }
  const auto options = flow_network_options(config);
  const int64_t multiple = int64_t{1} << (options.multipliers.size() - 1);
  if (config.patches.patch % multiple != 0) {
    throw usage_error(config.source.string() + ": data.patch must be a multiple of " +
                      std::to_string(multiple) + " (the network halves the resolution " +
                      std::to_string(options.multipliers.size() - 1) + " times)");
  }
  std::filesystem::create_directories(config.output);
  torch::manual_seed(config.seed);
  network_ = FlowUNet(options);
  network_->train();
  average_network_ = FlowUNet(options);
  average_ = std::make_unique<ExponentialMovingAverage>(*network_, *average_network_, config.ema);
  set_channels_last(*network_, true);
  set_channels_last(*average_network_, true);
  optimizer_ = make_optimizer(config, network_->parameters());
  group.broadcast(network_->parameters());

  if (!config.val_folder.empty() && group.rank() == 0) {
    validation_ = std::make_unique<ValidationSet>(config.val_folder, config.scale, config.val_crop);
  }
}

std::vector<std::pair<std::string, torch::nn::Module*>> FlowStep::modules() {
  return {{"network", network_.get()}, {"average", average_network_.get()}};
}

std::vector<StepUpdate> FlowStep::updates() { return {{optimizer_.get(), network_->parameters()}}; }

StepLosses FlowStep::losses(size_t, int64_t step) {
  const auto batch = batches_.next();
  const auto condition = flow_condition(batch.lr, settings_);
  const auto x = flow_target(batch.hr, condition, settings_);
  // The noise and levels of the whole batch over all ranks, of which this rank takes the rows
  // of its samples (the loader deals sample i of a step to rank i mod world): data-parallel runs
  // draw what one process with the combined batch draws.
  auto generator = step_generator(config_.seed, step);
  auto shape = x.sizes().vec();
  shape[0] = config_.batch;
  const auto rows = torch::arange(x.size(0), torch::kLong) * world_ + rank_;
  const auto noise = torch::randn(shape, generator, x.options()).index_select(0, rows);
  const auto levels =
      torch::sigmoid(config_.logit_mean +
                     config_.logit_std * torch::randn({config_.batch}, generator, x.options()));
  mean_level_ = levels.mean().item<double>();
  const auto level = levels.index_select(0, rows);
  const auto s = level.view({-1, 1, 1, 1});
  const auto x_s = ((1 - s) * x + s * noise).contiguous(torch::MemoryFormat::ChannelsLast);
  const auto velocity =
      network_->forward(x_s, condition.contiguous(torch::MemoryFormat::ChannelsLast), level);
  auto loss = compute_loss(config_.losses, velocity, noise - x);
  return {loss.total, torch::tensor(loss.terms, torch::kDouble)};
}

void FlowStep::after_updates() { average_->update(*network_); }

nlohmann::json FlowStep::log_record(const torch::Tensor& values) const {
  return {{"epoch", batches_.last_epoch()},
          {"terms", loss_terms_record(config_.losses, values)},
          {"mean_noise_level", mean_level_}};
}

nlohmann::json FlowStep::state(int /*world_size*/) const {
  // Where the samples stand over all ranks, so that a run can resume on another number of
  // processes and continue the same sequence of samples.
  auto state = batches_.state();
  state["ema_updates"] = average_->updates();
  return state;
}

void FlowStep::restore(const nlohmann::json& state, int /*world_size*/) {
  average_->set_updates(state.at("ema_updates").get<int64_t>());
  batches_.restore(state);
  set_channels_last(*network_, true);
  set_channels_last(*average_network_, true);
}

FlowUNet& FlowStep::exported() { return config_.ema > 0 ? average_network_ : network_; }

void FlowStep::export_model(const std::filesystem::path& path, int64_t steps) {
  save_flow_model(path, *exported(), settings_,
                  {{"name", config_.name},
                   {"trained_by", "srkit train"},
                   {"config", config_.source.filename().string()},
                   {"steps", steps},
                   {"weights", config_.ema > 0 ? "ema" : "raw"}});
}

nlohmann::json FlowStep::validate() {
  if (!validation_) return nullptr;
  auto& judged = exported();
  const bool was_training = judged->is_training();
  FlowModel model(judged, settings_, {{"name", config_.name}}, "");  // puts it in eval mode
  ModelInput input;
  input.steps = config_.val_steps;
  const auto scores = validation_->evaluate([&](const torch::Tensor& lr) {
    input.image = lr.unsqueeze(0);
    return model.run(input)[0];
  });
  judged->train(was_training);
  return {{"psnr_y", scores.psnr_y},
          {"ssim_y", scores.ssim_y},
          {"lsd", scores.lsd},
          {"images", scores.images},
          {"sampling",
           {{"solver", flow_solver_name(settings_.sampling.solver)},
            {"steps", config_.val_steps},
            {"seed", 0}}}};
}

}  // namespace srkit
