#include "srkit/train/flow_step.h"

#include <set>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/models/registry.h"
#include "srkit/nn/layers.h"
#include "srkit/train/structure_teacher.h"

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

// The validation record of a sampled flow: the scores and how it sampled.
nlohmann::json flow_validation_record(const ValidationScores& scores,
                                      const FlowModelSettings& settings,
                                      const TrainConfig& config) {
  auto record = to_json(scores);
  record["sampling"] = {{"solver", flow_solver_name(settings.sampling.solver)},
                        {"steps", config.val_steps},
                        {"seed", 0}};
  return record;
}

}  // namespace

at::Generator step_generator(uint64_t seed, int64_t step) {
  return at::make_generator<at::CPUGeneratorImpl>(seed * 0x9E3779B97F4A7C15ULL +
                                                  static_cast<uint64_t>(step));
}

nlohmann::json validate_flow_network(ValidationSet& validation, FlowUNet& network,
                                     const FlowModelSettings& settings, const TrainConfig& config) {
  const bool was_training = network->is_training();
  torch::NoGradGuard no_grad;
  FlowModel model(network, settings, {{"name", config.name}}, "");  // puts it in eval mode
  ModelInput input;
  input.steps = config.val_steps;
  const auto scores = validation.evaluate([&](const torch::Tensor& lr) {
    input.image = lr.unsqueeze(0);
    return model.run(input)[0];
  });
  network->train(was_training);
  return flow_validation_record(scores, settings, config);
}

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

namespace {

// The model whose outputs a run imitates: a registered name or a model file.
std::unique_ptr<Model> imitated_model(const TrainConfig& config) {
  ModelRequest request;
  request.name_or_path = config.imitate;
  request.scale = is_model_path(config.imitate) ? 0 : config.scale;
  auto model = std::filesystem::path(config.imitate).extension() == kModelFileExtension
                   ? open_model_file(config.imitate)
                   : load_model(request);
  if (model->card().scale != config.scale || model->card().task != "sr") {
    throw usage_error(config.source.string() + ": data.imitate " + config.imitate +
                      " is not a single-image x" + std::to_string(config.scale) + " upscaler");
  }
  model->prepare(torch::kCPU, true);
  return model;
}

}  // namespace

FlowStep::FlowStep(const TrainConfig& config, ProcessGroup& group)
    : config_(config),
      batches_(config, group.rank(), group.world_size()),
      rank_(group.rank()),
      world_(group.world_size()) {
  torch::manual_seed(config.seed);
  if (config.init.empty()) {
    settings_ = flow_settings(config);
    network_ = FlowUNet(flow_network_options(config));
  } else {
    base_ = read_initial_flow_model(config);
    settings_ = base_.settings;
    network_ = base_.network;
  }
  const auto options = network_->options();
  const int64_t multiple = int64_t{1} << (options.multipliers.size() - 1);
  if (config.patches.patch % multiple != 0) {
    throw usage_error(config.source.string() + ": data.patch must be a multiple of " +
                      std::to_string(multiple) + " (the network halves the resolution " +
                      std::to_string(options.multipliers.size() - 1) + " times)");
  }
  std::filesystem::create_directories(config.output);
  network_->train();
  if (!config.imitate.empty()) imitated_ = imitated_model(config);
  if (config.has_lora) {
    stack_ = std::make_unique<LoraStack>(*network_);
    adapter_ = add_trainable_adapter(*network_, config, *stack_);
    set_channels_last(*network_, true);
    optimizer_ = make_optimizer(config, adapter_->parameters());
    group.broadcast(adapter_->parameters());
  } else {
    average_network_ = FlowUNet(options);
    if (config.has_structure) {
      const auto adapter = structure_adapter_options(config, *network_);
      conditioned_ = ConditionedFlowUNet(network_, adapter);
      average_conditioned_ = ConditionedFlowUNet(average_network_, adapter);
      conditioned_->train();
    }
    auto& average = average_conditioned_ ? static_cast<torch::nn::Module&>(*average_conditioned_)
                                         : *average_network_;
    average_ = std::make_unique<ExponentialMovingAverage>(trained(), average, config.ema);
    set_channels_last(trained(), true);
    set_channels_last(average, true);
    optimizer_ = make_optimizer(config, trained().parameters());
    group.broadcast(trained().parameters());
  }

  if (!config.val_folder.empty() && group.rank() == 0) {
    validation_ = std::make_unique<ValidationSet>(config.val_folder, config.scale, config.val_crop);
  }
}

torch::nn::Module& FlowStep::trained() {
  if (conditioned_) return *conditioned_;
  return *network_;
}

std::vector<std::pair<std::string, torch::nn::Module*>> FlowStep::modules() {
  if (adapter_) return {{"adapter", adapter_.get()}};  // the base is init's, unchanged
  if (conditioned_) {
    return {{"network", conditioned_.get()}, {"average", average_conditioned_.get()}};
  }
  return {{"network", network_.get()}, {"average", average_network_.get()}};
}

std::vector<StepUpdate> FlowStep::updates() {
  if (adapter_) return {{optimizer_.get(), adapter_->parameters()}};
  return {{optimizer_.get(), trained().parameters()}};
}

torch::Tensor FlowStep::target(const Batch& batch) {
  if (!imitated_) return batch.hr;
  torch::NoGradGuard no_grad;
  ModelInput input;
  input.image = batch.lr;
  return imitated_->run(input).clamp(0, 1);
}

StepLosses FlowStep::losses(size_t, int64_t step) {
  const auto batch = batches_.next();
  const auto condition = flow_condition(batch.lr, settings_);
  const auto image = target(batch);
  const auto x = flow_target(image, condition, settings_);
  if (stack_) stack_->apply();  // the layers read base + the adapter, with the graph to it
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
  const auto grid = condition.contiguous(torch::MemoryFormat::ChannelsLast);
  torch::Tensor velocity;
  if (conditioned_) {
    // Each sample keeps its structure with probability 1 - dropout (the same draws over ranks).
    const auto keep =
        (torch::rand({config_.batch}, generator, x.options()) >= config_.structure.dropout)
            .to(x.dtype())
            .index_select(0, rows);
    auto structure = structure_conditions(image, config_.structure.conditioning);
    for (auto& map : structure) map = map.contiguous(torch::MemoryFormat::ChannelsLast);
    velocity = conditioned_->forward(x_s, grid, level, structure, keep);
  } else {
    velocity = network_->forward(x_s, grid, level);
  }
  auto loss = compute_loss(config_.losses, velocity, noise - x);
  return {loss.total, torch::tensor(loss.terms, torch::kDouble)};
}

void FlowStep::after_updates() {
  if (average_) average_->update(trained());
}

nlohmann::json FlowStep::log_record(const torch::Tensor& values) const {
  return {{"epoch", batches_.last_epoch()},
          {"terms", loss_terms_record(config_.losses, values)},
          {"mean_noise_level", mean_level_}};
}

nlohmann::json FlowStep::state(int /*world_size*/) const {
  // Where the samples stand over all ranks, so that a run can resume on another number of
  // processes and continue the same sequence of samples.
  auto state = batches_.state();
  if (average_) state["ema_updates"] = average_->updates();
  return state;
}

void FlowStep::restore(const nlohmann::json& state, int /*world_size*/) {
  if (average_) average_->set_updates(state.at("ema_updates").get<int64_t>());
  batches_.restore(state);
  set_channels_last(trained(), true);
  if (average_conditioned_) {
    set_channels_last(*average_conditioned_, true);
  } else if (average_network_) {
    set_channels_last(*average_network_, true);
  }
}

FlowUNet& FlowStep::exported() { return average_ && config_.ema > 0 ? average_network_ : network_; }

void FlowStep::export_model(const std::filesystem::path& path, int64_t steps) {
  nlohmann::json about = {{"name", config_.name},
                          {"trained_by", "srkit train"},
                          {"config", config_.source.filename().string()},
                          {"steps", steps},
                          {"weights", config_.ema > 0 ? "ema" : "raw"}};
  if (!config_.imitate.empty()) about["imitates"] = config_.imitate;
  if (adapter_) {
    export_adapted_flow_model(path, base_, config_.name, adapter_, about);
  } else if (conditioned_) {
    if (!config_.init.empty()) about["base"] = base_.identity;
    about["dropout"] = config_.structure.dropout;
    save_conditioned_flow_teacher(path, config_.ema > 0 ? *average_conditioned_ : *conditioned_,
                                  settings_, config_.structure.conditioning, about);
  } else {
    if (!config_.init.empty()) about["base"] = base_.identity;
    save_flow_model(path, *exported(), settings_, about);
  }
}

nlohmann::json FlowStep::validate() {
  if (!validation_) return nullptr;
  torch::NoGradGuard no_grad;
  if (stack_) stack_->apply();  // constants: base + the adapter as trained so far
  if (conditioned_) return validate_conditioned();
  return validate_flow_network(*validation_, exported(), settings_, config_);
}

nlohmann::json FlowStep::validate_conditioned() {
  auto& teacher = config_.ema > 0 ? average_conditioned_ : conditioned_;
  const bool was_training = teacher->is_training();
  FlowModel model(exported(), settings_, {{"name", config_.name}}, "");  // puts it in eval mode
  teacher->eval();
  auto sampling = settings_.sampling;
  sampling.steps = config_.val_steps;
  const auto scores = validation_->evaluate_with_reference([&](const torch::Tensor& lr,
                                                               const torch::Tensor& hr) {
    // The structure of the photo itself, on the sampler's grid (padded as the condition is).
    const auto structure_of = [&](const torch::Tensor& grid) {
      namespace F = torch::nn::functional;
      const auto padded =
          F::pad(hr.unsqueeze(0),
                 F::PadFuncOptions({0, grid.size(3) - hr.size(2), 0, grid.size(2) - hr.size(1)})
                     .mode(torch::kReplicate));
      return structure_conditions(padded, config_.structure.conditioning);
    };
    std::vector<torch::Tensor> structure;
    const GridVelocityFn velocity = [&](const torch::Tensor& x, const torch::Tensor& condition,
                                        double s) {
      if (structure.empty()) structure = structure_of(condition);
      return teacher->forward(x, condition, torch::full({x.size(0)}, s, x.options()), structure);
    };
    return model.sample(lr.unsqueeze(0), 0, sampling, velocity)[0];
  });
  teacher->train(was_training);
  auto record = flow_validation_record(scores, settings_, config_);
  record["structure"] = "the photo's own";
  return record;
}

}  // namespace srkit
