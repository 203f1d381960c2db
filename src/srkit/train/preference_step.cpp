#include "srkit/train/preference_step.h"

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/nn/layers.h"
#include "srkit/train/flow_step.h"
#include "srkit/train/preference_loss.h"

namespace srkit {

PreferenceStep::PreferenceStep(const TrainConfig& config, ProcessGroup& group)
    : config_(config),
      batches_(config, group.rank(), group.world_size()),
      base_(read_initial_flow_model(config)),
      network_(base_.network),
      rank_(group.rank()),
      world_(group.world_size()) {
  std::filesystem::create_directories(config.output);
  torch::manual_seed(config.seed);
  if (!config.preference.adversary.empty()) {
    auto adversary = load_adapter_for(config.preference.adversary, base_, *network_, config,
                                      "preference.adversary");
    adversary_ = merged_network(*network_, {adversary});
    for (auto& p : adversary_->parameters()) p.requires_grad_(false);
    adversary_->eval();
    set_channels_last(*adversary_, true);
  }
  stack_ = std::make_unique<LoraStack>(*network_);
  adapter_ = add_trainable_adapter(*network_, config, *stack_);
  set_channels_last(*network_, true);
  optimizer_ = make_optimizer(config, adapter_->parameters());
  group.broadcast(adapter_->parameters());
  if (!config.val_folder.empty() && group.rank() == 0) {
    validation_ = std::make_unique<ValidationSet>(config.val_folder, config.scale, config.val_crop);
  }
}

std::vector<std::pair<std::string, torch::nn::Module*>> PreferenceStep::modules() {
  return {{"adapter", adapter_.get()}};  // the base is init's, unchanged
}

std::vector<StepUpdate> PreferenceStep::updates() {
  return {{optimizer_.get(), adapter_->parameters()}};
}

torch::Tensor PreferenceStep::energy(const torch::Tensor& residual) const {
  if (config_.preference.energy.type == "sobolev") {
    return sobolev_norm_sq(residual, config_.preference.energy.sobolev);
  }
  return residual.pow(2).mean({1, 2, 3});
}

StepLosses PreferenceStep::losses(size_t, int64_t step) {
  const auto& preference = config_.preference;
  const auto batch = batches_.next();
  const auto condition = flow_condition(batch.lr, base_.settings);
  const auto winner = flow_target(batch.hr, condition, base_.settings);
  // The data-loser: the LR patch upsampled as the condition is (in residual form, zero).
  const auto loser = flow_target((condition + 1) / 2, condition, base_.settings);

  // The noise and levels of the whole batch over all ranks, this rank's rows (as FlowStep).
  auto generator = step_generator(config_.seed, step);
  auto shape = winner.sizes().vec();
  shape[0] = config_.batch;
  const auto rows = torch::arange(winner.size(0), torch::kLong) * world_ + rank_;
  const auto draw_noise = [&] {
    return torch::randn(shape, generator, winner.options()).index_select(0, rows);
  };
  const auto draw_levels = [&] {
    return torch::sigmoid(config_.logit_mean + config_.logit_std * torch::randn({config_.batch},
                                                                                generator,
                                                                                winner.options()))
        .index_select(0, rows);
  };
  const auto noise_w = draw_noise();
  const auto level_w = draw_levels();
  const auto noise_l = preference.shared_noise ? noise_w : draw_noise();
  const auto level_l = preference.shared_noise ? level_w : draw_levels();
  mean_level_ = level_w.mean().item<double>();
  const auto noised = [](const torch::Tensor& x, const torch::Tensor& noise,
                         const torch::Tensor& level) {
    const auto s = level.view({-1, 1, 1, 1});
    return (1 - s) * x + s * noise;
  };

  std::vector<torch::Tensor> inputs{noised(winner, noise_w, level_w),
                                    noised(loser, noise_l, level_l)};
  std::vector<torch::Tensor> targets{noise_w - winner, noise_l - loser};
  std::vector<torch::Tensor> levels{level_w, level_l};
  if (adversary_) {
    torch::NoGradGuard no_grad;
    const auto velocity =
        adversary_->forward(inputs[0].contiguous(torch::MemoryFormat::ChannelsLast),
                            condition.contiguous(torch::MemoryFormat::ChannelsLast), level_w);
    const auto adversarial = adversarial_loser(winner, inputs[0], level_w.view({-1, 1, 1, 1}),
                                               velocity, preference.trust_region);
    inputs.push_back(noised(adversarial, noise_w, level_w));
    targets.push_back(noise_w - adversarial);
    levels.push_back(level_w);
  }
  const int64_t parts = static_cast<int64_t>(inputs.size());
  const auto x_s = torch::cat(inputs).contiguous(torch::MemoryFormat::ChannelsLast);
  const auto conditions =
      condition.repeat({parts, 1, 1, 1}).contiguous(torch::MemoryFormat::ChannelsLast);
  const auto level = torch::cat(levels);
  const auto target = torch::cat(targets);

  std::vector<torch::Tensor> reference;
  {
    torch::NoGradGuard no_grad;
    stack_->set_enabled(config_.name, false);
    stack_->apply();
    reference = energy(network_->forward(x_s, conditions, level) - target).chunk(parts);
    stack_->set_enabled(config_.name, true);
  }
  stack_->apply();
  const auto policy = energy(network_->forward(x_s, conditions, level) - target).chunk(parts);

  const auto data =
      dpo_loss({policy[0], policy[1], reference[0], reference[1]}, preference.beta_raw);
  auto total = data.loss;
  std::vector<double> values{data.loss.item<double>(), data.margin, data.accuracy};
  if (adversary_) {
    const auto adversarial =
        dpo_loss({policy[0], policy[2], reference[0], reference[2]}, preference.beta_raw);
    total = total + adversarial.loss;
    values.insert(values.end(),
                  {adversarial.loss.item<double>(), adversarial.margin, adversarial.accuracy});
  }
  values.push_back(policy[0].mean().item<double>());
  values.push_back(policy[1].mean().item<double>());
  return {total, torch::tensor(values, torch::kDouble)};
}

nlohmann::json PreferenceStep::log_record(const torch::Tensor& values) const {
  const auto v = [&](int64_t k) { return values[k].item<double>(); };
  nlohmann::json record = {
      {"epoch", batches_.last_epoch()},
      {"data_loser", {{"loss", v(0)}, {"reward_margin", v(1)}, {"accuracy", v(2)}}},
      {"mean_noise_level", mean_level_}};
  int64_t next = 3;
  if (adversary_) {
    record["adversarial_loser"] = {{"loss", v(3)}, {"reward_margin", v(4)}, {"accuracy", v(5)}};
    next = 6;
  }
  record["energy"] = {{"winner", v(next)}, {"data_loser", v(next + 1)}};
  return record;
}

nlohmann::json PreferenceStep::state(int /*world_size*/) const { return batches_.state(); }

void PreferenceStep::restore(const nlohmann::json& state, int /*world_size*/) {
  batches_.restore(state);
}

void PreferenceStep::export_model(const std::filesystem::path& path, int64_t steps) {
  const auto& preference = config_.preference;
  nlohmann::json aligned = {{"beta", preference.beta_raw},
                            {"energy", preference.energy.type},
                            {"noise", preference.shared_noise ? "shared" : "independent"}};
  if (preference.energy.type == "sobolev") aligned["s"] = preference.energy.sobolev.s;
  if (adversary_) {
    aligned["adversary"] = preference.adversary.filename().string();
    aligned["trust_region"] = preference.trust_region;
  }
  export_adapted_flow_model(path, base_, config_.name, adapter_,
                            {{"name", config_.name},
                             {"trained_by", "srkit train"},
                             {"config", config_.source.filename().string()},
                             {"steps", steps},
                             {"weights", "raw"},
                             {"preference", aligned}});
}

nlohmann::json PreferenceStep::validate() {
  if (!validation_) return nullptr;
  torch::NoGradGuard no_grad;
  stack_->apply();  // constants: the policy as trained so far
  return validate_flow_network(*validation_, network_, base_.settings, config_);
}

}  // namespace srkit
