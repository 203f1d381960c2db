#include "srkit/train/regression_step.h"

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/io/tfjs_model.h"
#include "srkit/models/model_file.h"
#include "srkit/models/registry.h"

namespace srkit {
namespace {

std::unique_ptr<PairDataset> make_dataset(const TrainConfig& config) {
  if (!config.train_lr_folder.empty()) {
    return std::make_unique<PairedFolderDataset>(config.train_lr_folder, config.train_folder,
                                                 config.patches);
  }
  return std::make_unique<HrFolderDataset>(config.train_folder, config.patches);
}

}  // namespace

Network initial_network(const TrainConfig& config) {
  torch::manual_seed(config.seed);
  if (config.init.empty()) return make_network(config.network);
  Network network;
  if (std::filesystem::path(config.init).extension() == kModelFileExtension) {
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

RegressionStep::RegressionStep(const TrainConfig& config, ProcessGroup& group) : config_(config) {
  const int world = group.world_size();
  if (config.batch % world != 0) {
    throw usage_error(config.source.string() + ": data.batch (" + std::to_string(config.batch) +
                      ") must be divisible by the number of processes (" + std::to_string(world) +
                      ")");
  }
  std::filesystem::create_directories(config.output);
  network_ = initial_network(config);
  network_->train();
  network_->set_channels_last(true);
  average_ = std::make_unique<ExponentialMovingAverage>(*network_, config.ema);
  optimizer_ = make_optimizer(config, network_->parameters());
  group.broadcast(network_->parameters());  // every rank starts from rank 0's weights

  dataset_ = make_dataset(config);
  LoaderOptions loader_options;
  loader_options.batch = config.batch / world;
  loader_options.seed = config.seed;
  loader_options.workers = config.workers;
  loader_options.rank = group.rank();
  loader_options.world_size = world;
  loader_ = std::make_unique<BatchLoader>(*dataset_, loader_options);
  if (!config.val_folder.empty() && group.rank() == 0) {
    validation_ = std::make_unique<ValidationSet>(config.val_folder, config.scale, config.val_crop);
  }
}

std::vector<std::pair<std::string, torch::nn::Module*>> RegressionStep::modules() {
  return {{"network", network_.get()}, {"average", average_->network().get()}};
}

std::vector<StepUpdate> RegressionStep::updates() {
  return {{optimizer_.get(), network_->parameters()}};
}

StepLosses RegressionStep::losses(size_t, int64_t) {
  const double range = network_->value_range();
  const auto batch = loader_->next();
  batch_epoch_ = batch.epoch;
  const auto input = (batch.lr * range).contiguous(torch::MemoryFormat::ChannelsLast);
  const auto prediction = network_->forward(input) / range;
  auto loss = compute_loss(config_.losses, prediction, batch.hr);
  return {loss.total, torch::tensor(loss.terms, torch::kDouble)};
}

void RegressionStep::after_updates() { average_->update(*network_); }

nlohmann::json RegressionStep::log_record(const torch::Tensor& values) const {
  nlohmann::json terms;
  for (size_t k = 0; k < config_.losses.size(); ++k) {
    auto key = config_.losses[k].type;
    if (terms.contains(key)) key += "_" + std::to_string(k);  // the same type twice
    terms[key] = values[static_cast<int64_t>(k)].item<double>();
  }
  return {{"epoch", batch_epoch_}, {"terms", terms}};
}

nlohmann::json RegressionStep::state(int world_size) const {
  // The samples all ranks took in the epoch, so that a run can resume on another number of
  // processes and continue the same sequence of samples.
  return {{"epoch", loader_->epoch()},
          {"position", loader_->position() * world_size},
          {"ema_updates", average_->updates()}};
}

void RegressionStep::restore(const nlohmann::json& state, int world_size) {
  average_->set_updates(state.at("ema_updates").get<int64_t>());
  const int64_t position = state.at("position").get<int64_t>();
  if (position % world_size != 0) {
    throw usage_error(config_.output.string() + "/checkpoint.pt stopped at a place that " +
                      std::to_string(world_size) +
                      " processes cannot share; resume with the process count it was saved with");
  }
  loader_->seek(state.at("epoch").get<int64_t>(), position / world_size);
  network_->set_channels_last(true);
}

void RegressionStep::export_model(const std::filesystem::path& path, int64_t steps) {
  Network& exported = config_.ema > 0 ? average_->network() : network_;
  save_model_file(path, *exported,
                  {{"name", config_.name},
                   {"trained_by", "srkit train"},
                   {"config", config_.source.filename().string()},
                   {"steps", steps},
                   {"weights", config_.ema > 0 ? "ema" : "raw"}});
}

nlohmann::json RegressionStep::validate() {
  if (!validation_) return nullptr;
  Network& judged = config_.ema > 0 ? average_->network() : network_;
  const auto scores = validation_->evaluate(*judged);
  return {{"psnr_y", scores.psnr_y},
          {"ssim_y", scores.ssim_y},
          {"lsd", scores.lsd},
          {"images", scores.images}};
}

TrainResult train(const TrainConfig& config, const TrainOptions& options, ProcessGroup& group) {
  RegressionStep step(config, group);
  return run_training(step, config, options, group);
}

}  // namespace srkit
