#include "srkit/train/multimodal_step.h"

#include <algorithm>

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/models/multimodal_model.h"
#include "srkit/ops/modality_maps.h"
#include "srkit/train/flow_step.h"

namespace srkit {
namespace {

// The parts of a step's values after the loss terms, K each.
enum Part { kWeights = 0, kTemperatures = 1, kContributions = 2, kTarget = 3 };
constexpr int64_t kParts = 4;

bool has_weights(Fusion fusion) {
  return fusion == Fusion::kDynamic || fusion == Fusion::kStatic || fusion == Fusion::kScalar;
}

}  // namespace

MultimodalStep::MultimodalStep(const TrainConfig& config, ProcessGroup& group)
    : config_(config), batches_(config, group.rank(), group.world_size()) {
  if (group.world_size() != 1) throw usage_error("m3esr training runs on one process");
  std::filesystem::create_directories(config.output);
  torch::manual_seed(config.seed);
  const auto network_config = m3esr_config(config.network);
  network_ = M3esr(network_config);
  network_->train();
  average_network_ = M3esr(network_config);
  average_ = std::make_unique<ExponentialMovingAverage>(*network_, *average_network_, config.ema);
  optimizer_ = make_optimizer(config, network_->parameters());
  contributions_.assign(network_config.modalities.size(), 0.0);
  if (!config.val_folder.empty()) {
    validation_ = std::make_unique<ValidationSet>(config.val_folder, config.scale, config.val_crop);
  }
}

std::vector<std::pair<std::string, torch::nn::Module*>> MultimodalStep::modules() {
  return {{"network", network_.get()}, {"average", average_network_.get()}};
}

std::vector<StepUpdate> MultimodalStep::updates() {
  return {{optimizer_.get(), network_->parameters()}};
}

std::vector<torch::Tensor> MultimodalStep::maps_of(const torch::Tensor& lr) const {
  std::vector<torch::Tensor> maps;
  for (const auto& name : network_->config().modalities) {
    maps.push_back(name == "edges" ? edge_maps(lr, config_.scale)
                                   : segmentation_maps(lr, config_.scale,
                                                       config_.multimodal.segmentation_region));
  }
  return maps;
}

torch::Tensor MultimodalStep::temperatures(int64_t step) const {
  const auto t =
      modality_temperatures(config_.multimodal.temperature, step, config_.steps, contributions_);
  return torch::tensor(std::vector<float>(t.begin(), t.end()));
}

void MultimodalStep::measure_contributions(const torch::Tensor& lr,
                                           const std::vector<torch::Tensor>& maps,
                                           const torch::Tensor& hr,
                                           const torch::Tensor& temperatures) {
  torch::NoGradGuard no_grad;
  const int64_t n = lr.size(0), k_count = static_cast<int64_t>(maps.size());
  const auto all = torch::ones({n, k_count});
  const auto loss_with = [&](const torch::Tensor& present) {
    const auto out = network_->forward(lr, maps, present, temperatures);
    return compute_loss(config_.losses, out.image, hr).total.item<double>();
  };
  const double full = loss_with(all);
  const double decay = measurements_ == 0 ? 0.0 : config_.multimodal.contribution_decay;
  for (int64_t k = 0; k < k_count; ++k) {
    auto dropped = all.clone();
    dropped.select(1, k).zero_();
    const double increase = std::max(0.0, loss_with(dropped) - full);
    contributions_[k] = decay * contributions_[k] + (1 - decay) * increase;
  }
  ++measurements_;
}

StepLosses MultimodalStep::losses(size_t, int64_t step) {
  const auto& settings = config_.multimodal;
  const auto& network_config = network_->config();
  const auto batch = batches_.next();
  const int64_t n = batch.lr.size(0), k_count = static_cast<int64_t>(contributions_.size());
  const auto maps = maps_of(batch.lr);
  const auto tau = temperatures(step);
  last_step_ = step;
  if (k_count > 0 && step % settings.contribution_every == 0) {
    measure_contributions(batch.lr, maps, batch.hr, tau);
  }
  auto generator = step_generator(config_.seed, step);
  const auto present =
      (torch::rand({n, k_count}, generator) >= settings.modality_dropout).to(torch::kFloat);
  const auto out = network_->forward(batch.lr, maps, present, tau);
  auto loss = compute_loss(config_.losses, out.image, batch.hr);
  auto total = loss.total;
  const auto target = alignment_target(contributions_, settings.contribution_temperature);
  double align = 0, penalty = 0;
  if (out.weights.defined() && network_config.fusion != Fusion::kStatic &&
      settings.align_weight > 0) {
    const auto term = alignment_loss(out.weights, target);
    total = total + settings.align_weight * term;
    align = term.item<double>();
  }
  if (out.logits.defined() && settings.logit_penalty > 0) {
    const auto term = out.logits.pow(2).mean();
    total = total + settings.logit_penalty * term;
    penalty = term.item<double>();
  }
  std::vector<double> values = loss.terms;
  values.push_back(align);
  values.push_back(penalty);
  const auto weight_means =
      out.weights.defined() ? out.weights.detach().mean({0, 2, 3}) : torch::zeros({k_count});
  for (int64_t k = 0; k < k_count; ++k) values.push_back(weight_means[k].item<double>());
  for (int64_t k = 0; k < k_count; ++k) values.push_back(tau[k].item<double>());
  values.insert(values.end(), contributions_.begin(), contributions_.end());
  values.insert(values.end(), target.begin(), target.end());
  return {total, torch::tensor(values, torch::kDouble)};
}

void MultimodalStep::after_updates() { average_->update(*network_); }

nlohmann::json MultimodalStep::log_record(const torch::Tensor& values) const {
  const auto terms = static_cast<int64_t>(config_.losses.size());
  const auto& names = network_->config().modalities;
  const auto k_count = static_cast<int64_t>(names.size());
  nlohmann::json record = {{"epoch", batches_.last_epoch()},
                           {"terms", loss_terms_record(config_.losses, values.slice(0, 0, terms))},
                           {"align", values[terms].item<double>()},
                           {"logit_penalty", values[terms + 1].item<double>()}};
  const char* parts[kParts] = {"weights", "temperatures", "contributions", "target"};
  for (int64_t part = 0; part < kParts; ++part) {
    nlohmann::json by_name = nlohmann::json::object();
    for (int64_t k = 0; k < k_count; ++k) {
      by_name[names[k]] = values[terms + 2 + part * k_count + k].item<double>();
    }
    if (part == kWeights && !has_weights(network_->config().fusion)) continue;
    record[parts[part]] = by_name;
  }
  return record;
}

nlohmann::json MultimodalStep::state(int) const {
  auto state = batches_.state();
  state["ema_updates"] = average_->updates();
  state["contributions"] = contributions_;
  state["measurements"] = measurements_;
  return state;
}

void MultimodalStep::restore(const nlohmann::json& state, int world_size) {
  if (world_size != 1) throw usage_error("m3esr training runs on one process");
  average_->set_updates(state.at("ema_updates").get<int64_t>());
  batches_.restore(state);
  contributions_ = state.at("contributions").get<std::vector<double>>();
  measurements_ = state.at("measurements").get<int64_t>();
}

void MultimodalStep::export_model(const std::filesystem::path& path, int64_t steps) {
  auto& exported = config_.ema > 0 ? average_network_ : network_;
  const auto tau =
      modality_temperatures(config_.multimodal.temperature, steps, config_.steps, contributions_);
  save_multimodal_model(
      path, *exported, tau,
      {{"name", config_.name},
       {"trained_by", "srkit train"},
       {"config", config_.source.filename().string()},
       {"steps", steps},
       {"weights", config_.ema > 0 ? "ema" : "raw"},
       {"contributions", contributions_},
       {"maps", {{"segmentation_region", config_.multimodal.segmentation_region}}}});
}

nlohmann::json MultimodalStep::validate() {
  if (!validation_) return nullptr;
  auto& judged = config_.ema > 0 ? average_network_ : network_;
  const bool was_training = judged->is_training();
  judged->eval();
  const auto tau = temperatures(last_step_);
  const auto k_count = static_cast<int64_t>(contributions_.size());
  const auto scores = validation_->evaluate([&](const torch::Tensor& lr) {
    torch::NoGradGuard no_grad;
    const auto batch = lr.unsqueeze(0);
    return judged->forward(batch, maps_of(batch), torch::ones({1, k_count}), tau)
        .image[0]
        .clamp(0, 1);
  });
  judged->train(was_training);
  return to_json(scores);
}

}  // namespace srkit
