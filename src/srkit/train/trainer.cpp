#include "srkit/train/trainer.h"

#include <chrono>
#include <fstream>
#include <limits>
#include <memory>

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/io/atomic_file.h"
#include "srkit/io/tfjs_model.h"
#include "srkit/models/model_file.h"
#include "srkit/models/registry.h"
#include "srkit/train/checkpoint.h"
#include "srkit/train/ema.h"
#include "srkit/train/run_log.h"
#include "srkit/train/schedule.h"

namespace srkit {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::unique_ptr<PairDataset> make_dataset(const TrainConfig& config) {
  if (!config.train_lr_folder.empty()) {
    return std::make_unique<PairedFolderDataset>(config.train_lr_folder, config.train_folder,
                                                 config.patches);
  }
  return std::make_unique<HrFolderDataset>(config.train_folder, config.patches);
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& config,
                                                        NetworkImpl& network) {
  if (config.optimizer == "adam") {
    return std::make_unique<torch::optim::Adam>(network.parameters(),
                                                torch::optim::AdamOptions(config.lr)
                                                    .betas({config.beta1, config.beta2})
                                                    .weight_decay(config.weight_decay));
  }
  return std::make_unique<torch::optim::AdamW>(network.parameters(),
                                               torch::optim::AdamWOptions(config.lr)
                                                   .betas({config.beta1, config.beta2})
                                                   .weight_decay(config.weight_decay));
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

TrainResult train(const TrainConfig& config, const TrainOptions& options, ProcessGroup& group) {
  const bool leader = group.rank() == 0;
  const int world = group.world_size();
  if (config.batch % world != 0) {
    throw usage_error(config.source.string() + ": data.batch (" + std::to_string(config.batch) +
                      ") must be divisible by the number of processes (" + std::to_string(world) +
                      ")");
  }
  TrainResult result;
  result.checkpoint = config.output / "checkpoint.pt";
  result.log = config.output / "log.jsonl";
  result.model_file = config.output / (config.name + kModelFileExtension);
  std::filesystem::create_directories(config.output);

  auto network = initial_network(config);
  network->train();
  network->set_channels_last(true);
  ExponentialMovingAverage average(*network, config.ema);
  auto optimizer = make_optimizer(config, *network);
  auto parameters = network->parameters();
  group.broadcast(parameters);  // every rank starts from rank 0's weights

  const auto dataset = make_dataset(config);
  LoaderOptions loader_options;
  loader_options.batch = config.batch / world;
  loader_options.seed = config.seed;
  loader_options.workers = config.workers;
  loader_options.rank = group.rank();
  loader_options.world_size = world;
  BatchLoader loader(*dataset, loader_options);

  TrainingState state;
  state.config_text = config.text;
  state.world_size = world;
  if (options.resume) {
    state = load_checkpoint(result.checkpoint, *network, *average.network(), *optimizer);
    if (state.config_text != config.text) {
      throw usage_error(config.source.string() + " differs from the config " +
                        result.checkpoint.string() +
                        " was started with; resume with the same config, or give a new output");
    }
    average.set_updates(state.ema_updates);
    // The checkpoint counts the samples all ranks took in the epoch, so a run can resume on another
    // number of processes and continue the same sequence of samples.
    if (state.position % world != 0) {
      throw usage_error(result.checkpoint.string() + " stopped at a place that " +
                        std::to_string(world) + " processes cannot share; resume with " +
                        std::to_string(state.world_size) + " processes");
    }
    loader.seek(state.epoch, state.position / world);
    state.world_size = world;
    network->set_channels_last(true);
    if (leader) truncate_log(result.log, state.step);
  } else if (leader) {
    std::filesystem::remove(result.log);
  }
  result.first_step = state.step;
  result.step = state.step;

  std::unique_ptr<ValidationSet> validation;
  if (!config.val_folder.empty() && leader) {
    validation = std::make_unique<ValidationSet>(config.val_folder, config.scale, config.val_crop);
  }
  JsonLog log(result.log, leader);
  const ScheduleOptions schedule{config.lr, config.warmup, config.steps, config.min_lr};
  const double range = network->value_range();
  const double clip =
      config.clip_grad_norm > 0 ? config.clip_grad_norm : std::numeric_limits<double>::infinity();

  const auto save = [&] {
    state.step = result.step;
    state.epoch = loader.epoch();
    state.position = loader.position() * world;
    state.ema_updates = average.updates();
    if (!leader) return;
    save_checkpoint(result.checkpoint, state, *network, *average.network(), *optimizer);
    Network& exported = config.ema > 0 ? average.network() : network;
    save_model_file(result.model_file, *exported,
                    {{"name", config.name},
                     {"trained_by", "srkit train"},
                     {"config", config.source.filename().string()},
                     {"steps", result.step},
                     {"weights", config.ema > 0 ? "ema" : "raw"}});
  };
  const auto validate = [&] {
    if (!validation) return;
    Network& judged = config.ema > 0 ? average.network() : network;
    result.validation = validation->evaluate(*judged);
    result.validated = true;
    log.write({{"step", result.step},
               {"validation",
                {{"psnr_y", result.validation.psnr_y},
                 {"ssim_y", result.validation.ssim_y},
                 {"lsd", result.validation.lsd},
                 {"images", result.validation.images}}}});
  };

  if (result.step == 0) validate();  // the starting point: fine-tuning shows what it changes
  const auto run_start = Clock::now();
  auto window_start = Clock::now();
  double step_seconds = 0;  // in training steps after the first (which also sets up kernels)
  int64_t window_steps = 0;
  while (result.step < config.steps) {
    const auto step_start = Clock::now();
    const double lr = warmup_cosine_lr(result.step, schedule);
    set_learning_rate(*optimizer, lr);
    const auto batch = loader.next();
    const auto lr_input = (batch.lr * range).contiguous(torch::MemoryFormat::ChannelsLast);
    const auto prediction = network->forward(lr_input) / range;
    auto loss = compute_loss(config.losses, prediction, batch.hr);
    optimizer->zero_grad();
    loss.total.backward();

    // Whether this rank wants to stop (Ctrl-C, time limit) travels with the gradients, so that
    // every rank stops after the same step.
    const bool out_of_time =
        config.time_limit_minutes > 0 && seconds_since(run_start) > 60 * config.time_limit_minutes;
    const bool wants_stop = (options.should_stop && options.should_stop()) || out_of_time;

    // One all-reduce: the gradients, the loss values and the stop requests, averaged over ranks.
    std::vector<torch::Tensor> reduced;
    for (auto& p : parameters) reduced.push_back(p.grad());
    auto values = torch::tensor(loss.terms, torch::kDouble);
    auto total = loss.total.detach().to(torch::kDouble).reshape({1});
    auto stop_request = torch::full({1}, wants_stop ? 1.0 : 0.0, torch::kDouble);
    reduced.push_back(values);
    reduced.push_back(total);
    reduced.push_back(stop_request);
    if (world > 1) group.average(reduced);
    const double grad_norm = torch::nn::utils::clip_grad_norm_(parameters, clip);
    optimizer->step();
    average.update(*network);
    ++result.step;
    ++window_steps;
    if (result.step > result.first_step + 1) step_seconds += seconds_since(step_start);

    const bool last = result.step == config.steps;
    const double mean_loss = total.item<double>();
    const double rate = static_cast<double>(window_steps * config.batch) /
                        std::max(1e-9, seconds_since(window_start));
    const bool stop_now =
        (options.stop_after > 0 && result.step - result.first_step >= options.stop_after) ||
        stop_request.item<double>() > 0;
    if (result.step % config.log_every == 0 || last || stop_now) {
      nlohmann::json terms;
      for (size_t k = 0; k < config.losses.size(); ++k) {
        auto key = config.losses[k].type;
        if (terms.contains(key)) key += "_" + std::to_string(k);  // the same type twice
        terms[key] = values[static_cast<int64_t>(k)].item<double>();
      }
      log.write({{"step", result.step},
                 {"epoch", batch.epoch},
                 {"lr", lr},
                 {"loss", mean_loss},
                 {"terms", terms},
                 {"grad_norm", grad_norm},
                 {"patches_per_s", rate}});
      window_start = Clock::now();
      window_steps = 0;
    }
    if (options.status && leader) {
      options.status(format_status(result.step, config.steps, mean_loss, lr, rate));
    }
    if (result.step % config.val_every == 0 || last) validate();

    if (result.step % config.checkpoint_every == 0 || last || stop_now) save();
    if (stop_now && !last) break;
  }
  group.barrier();
  result.finished = result.step == config.steps;
  result.seconds = seconds_since(run_start);
  result.patches_per_second =
      static_cast<double>(std::max<int64_t>(0, result.step - result.first_step - 1) *
                          config.batch) /
      std::max(1e-9, step_seconds);
  return result;
}

}  // namespace srkit
