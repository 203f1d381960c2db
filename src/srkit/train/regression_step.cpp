#include "srkit/train/regression_step.h"

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/io/tfjs_model.h"
#include "srkit/models/model_archive.h"
#include "srkit/models/model_file.h"
#include "srkit/models/registry.h"

namespace srkit {
Network initial_network(const TrainConfig& config) {
  torch::manual_seed(config.seed);
  if (config.init.empty()) return make_network(config.network);
  Network network;
  if (std::filesystem::path(config.init).extension() == kModelFileExtension) {
    if (std::filesystem::is_regular_file(config.init) &&
        ModelArchive(config.init).architecture() == "flow_unet") {
      throw usage_error(config.source.string() + ": init " + config.init +
                        " is a flow model: add model.architecture: flow_unet to fine-tune it");
    }
    network = load_model_file(config.init).network;
  } else {
    const auto& entry = find_model(config.init);
    if (entry.builtin)
      throw usage_error(config.source.string() + ": init " + config.init +
                        " has no weights to train");
    const auto json = model_json_path(entry, config.scale);
    if (!std::filesystem::exists(json)) {
      throw setup_error(config.source.string() + ": init " + config.init + " x" +
                        std::to_string(config.scale) +
                        " is not installed (run scripts/setup.sh; offered scales are listed by "
                        "`srkit models`)");
    }
    const auto topology = read_tfjs_topology(json);
    network = network_from_keras(topology, entry.value_range);
    network->load_keras_weights(read_tfjs_weights(topology), json.string());
  }
  if (network->scale() != config.scale) {
    throw usage_error(config.source.string() + ": init " + config.init + " upscales x" +
                      std::to_string(network->scale()) + ", model.scale is " +
                      std::to_string(config.scale));
  }
  network->train();
  return network;
}

RegressionStep::RegressionStep(const TrainConfig& config, ProcessGroup& group)
    : config_(config), batches_(config, group.rank(), group.world_size()) {
  std::filesystem::create_directories(config.output);
  network_ = initial_network(config);
  network_->train();
  network_->set_channels_last(true);
  average_network_ = make_network(network_->config());
  average_ = std::make_unique<ExponentialMovingAverage>(*network_, *average_network_, config.ema);
  optimizer_ = make_optimizer(config, network_->parameters());
  group.broadcast(network_->parameters());  // every rank starts from rank 0's weights

  if (!config.val_folder.empty() && group.rank() == 0) {
    validation_ = std::make_unique<ValidationSet>(config.val_folder, config.scale, config.val_crop);
  }
}

std::vector<std::pair<std::string, torch::nn::Module*>> RegressionStep::modules() {
  return {{"network", network_.get()}, {"average", average_network_.get()}};
}

std::vector<StepUpdate> RegressionStep::updates() {
  return {{optimizer_.get(), network_->parameters()}};
}

StepLosses RegressionStep::losses(size_t, int64_t) {
  const double range = network_->value_range();
  const auto batch = batches_.next();
  const auto input = (batch.lr * range).contiguous(torch::MemoryFormat::ChannelsLast);
  const auto prediction = network_->forward(input) / range;
  auto loss = compute_loss(config_.losses, prediction, batch.hr);
  return {loss.total, torch::tensor(loss.terms, torch::kDouble)};
}

void RegressionStep::after_updates() { average_->update(*network_); }

nlohmann::json RegressionStep::log_record(const torch::Tensor& values) const {
  return {{"epoch", batches_.last_epoch()}, {"terms", loss_terms_record(config_.losses, values)}};
}

nlohmann::json RegressionStep::state(int /*world_size*/) const {
  // Where the samples stand over all ranks, so that a run can resume on another number of
  // processes and continue the same sequence of samples.
  auto state = batches_.state();
  state["ema_updates"] = average_->updates();
  return state;
}

void RegressionStep::restore(const nlohmann::json& state, int /*world_size*/) {
  average_->set_updates(state.at("ema_updates").get<int64_t>());
  batches_.restore(state);
  network_->set_channels_last(true);
}

void RegressionStep::export_model(const std::filesystem::path& path, int64_t steps) {
  Network& exported = config_.ema > 0 ? average_network_ : network_;
  save_model_file(path, *exported,
                  {{"name", config_.name},
                   {"trained_by", "srkit train"},
                   {"config", config_.source.filename().string()},
                   {"steps", steps},
                   {"weights", config_.ema > 0 ? "ema" : "raw"}});
}

nlohmann::json RegressionStep::validate() {
  if (!validation_) return nullptr;
  Network& judged = config_.ema > 0 ? average_network_ : network_;
  const auto scores = validation_->evaluate(*judged);
  return to_json(scores);
}

}  // namespace srkit
