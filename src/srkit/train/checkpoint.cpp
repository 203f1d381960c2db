#include "srkit/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "srkit/core/error.h"
#include "srkit/models/model_file.h"

namespace srkit {
namespace {

constexpr const char* kFormat = "srkit-checkpoint";

torch::Tensor cpu_rng_state() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

void set_cpu_rng_state(const torch::Tensor& state) {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const TrainingState& state,
                     torch::nn::Module& network, torch::nn::Module& average,
                     torch::optim::Optimizer& optimizer) {
  const nlohmann::json description = {{"format", kFormat},
                                      {"version", 1},
                                      {"step", state.step},
                                      {"epoch", state.epoch},
                                      {"position", state.position},
                                      {"ema_updates", state.ema_updates},
                                      {"world_size", state.world_size},
                                      {"config", state.config_text}};
  torch::serialize::OutputArchive archive, weights, averaged, moments;
  archive.write("srkit", c10::IValue(description.dump()));
  network.save(weights);
  average.save(averaged);
  optimizer.save(moments);
  archive.write("network", weights);
  archive.write("average", averaged);
  archive.write("optimizer", moments);
  archive.write("rng", cpu_rng_state());
  save_archive_atomically(archive, path, "the checkpoint");
}

TrainingState load_checkpoint(const std::filesystem::path& path, torch::nn::Module& network,
                              torch::nn::Module& average, torch::optim::Optimizer& optimizer) {
  if (!std::filesystem::is_regular_file(path)) {
    throw usage_error(path.string() +
                      ": no checkpoint to resume from (train without --resume "
                      "first, or check the config's output folder)");
  }
  TrainingState state;
  try {
    torch::serialize::InputArchive archive, weights, averaged, moments;
    archive.load_from(path.string());
    c10::IValue text;
    if (!archive.try_read("srkit", text) || !text.isString()) {
      throw setup_error(path.string() + ": not a srkit checkpoint");
    }
    const auto description = nlohmann::json::parse(text.toStringRef());
    if (description.value("format", std::string()) != kFormat) {
      throw setup_error(path.string() + ": not a srkit checkpoint");
    }
    state.step = description.at("step");
    state.epoch = description.at("epoch");
    state.position = description.at("position");
    state.ema_updates = description.at("ema_updates");
    state.world_size = description.at("world_size");
    state.config_text = description.at("config");
    archive.read("network", weights);
    archive.read("average", averaged);
    archive.read("optimizer", moments);
    network.load(weights);
    average.load(averaged);
    optimizer.load(moments);
    torch::Tensor rng;
    archive.read("rng", rng);
    set_cpu_rng_state(rng);
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    const std::string reason = e.what_without_backtrace();
    throw setup_error(path.string() + ": damaged checkpoint, or one of a different network (" +
                      reason + ")");
  } catch (const std::exception& e) {
    const std::string reason = e.what();
    throw setup_error(path.string() + ": damaged checkpoint, or one of a different network (" +
                      reason + ")");
  }
  return state;
}

}  // namespace srkit
