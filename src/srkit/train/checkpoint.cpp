#include "srkit/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "srkit/core/error.h"
#include "srkit/io/atomic_file.h"

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

// The archive key of optimiser k: "optimizer", "optimizer1", ...
std::string optimizer_key(size_t k) {
  return k == 0 ? "optimizer" : "optimizer" + std::to_string(k);
}

// Saves a LibTorch archive atomically (temporary file + rename); an output Error naming `path`
// when it cannot be written.
void save_archive_atomically(torch::serialize::OutputArchive& archive,
                             const std::filesystem::path& path) {
  AtomicOutput out(path);
  try {
    archive.save_to(out.temp_path().string());
  } catch (const c10::Error& e) {
    throw output_error(path.string(),
                       std::string("cannot write the checkpoint: ") + e.what_without_backtrace());
  }
  out.commit();
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const TrainingState& state,
                     const NamedModules& modules, const Optimizers& optimizers) {
  nlohmann::json description = state.extra;
  description.update({{"format", kFormat},
                      {"version", 1},
                      {"step", state.step},
                      {"world_size", state.world_size},
                      {"config", state.config_text}});
  torch::serialize::OutputArchive archive;
  archive.write("srkit", c10::IValue(description.dump()));
  for (const auto& [name, module] : modules) {
    torch::serialize::OutputArchive part;
    module->save(part);
    archive.write(name, part);
  }
  for (size_t k = 0; k < optimizers.size(); ++k) {
    torch::serialize::OutputArchive part;
    optimizers[k]->save(part);
    archive.write(optimizer_key(k), part);
  }
  archive.write("rng", cpu_rng_state());
  save_archive_atomically(archive, path);
}

TrainingState load_checkpoint(const std::filesystem::path& path, const NamedModules& modules,
                              const Optimizers& optimizers) {
  if (!std::filesystem::is_regular_file(path)) {
    throw usage_error(path.string() +
                      ": no checkpoint to resume from (train without {{TrainOptions::resume}} "
                      "first, or check the config's output folder)");
  }
  TrainingState state;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path.string());
    c10::IValue text;
    if (!archive.try_read("srkit", text) || !text.isString()) {
      throw setup_error(path.string() + ": not a srkit checkpoint");
    }
    auto description = nlohmann::json::parse(text.toStringRef());
    if (description.value("format", std::string()) != kFormat) {
      throw setup_error(path.string() + ": not a srkit checkpoint");
    }
    state.step = description.at("step");
    state.world_size = description.at("world_size");
    state.config_text = description.at("config");
    for (const char* key : {"format", "version", "step", "world_size", "config"}) {
      description.erase(key);
    }
    state.extra = description;
    for (const auto& [name, module] : modules) {
      torch::serialize::InputArchive part;
      archive.read(name, part);
      module->load(part);
    }
    for (size_t k = 0; k < optimizers.size(); ++k) {
      torch::serialize::InputArchive part;
      archive.read(optimizer_key(k), part);
      optimizers[k]->load(part);
    }
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
