// Training checkpoints: everything needed to continue a run exactly where it stopped (the step's
// networks and optimisers, the step number, the step's own state such as the data loader's place,
// the RNG), in one LibTorch archive written atomically.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <nlohmann/json.hpp>

namespace srkit {

struct TrainingState {
  int64_t step = 0;         // steps completed
  int world_size = 1;       // processes of the run that wrote it
  std::string config_text;  // the YAML the run was started with
  nlohmann::json extra = nlohmann::json::object();  // the training step's own fields
};

using NamedModules = std::vector<std::pair<std::string, torch::nn::Module*>>;
using Optimizers = std::vector<torch::optim::Optimizer*>;

void save_checkpoint(const std::filesystem::path& path, const TrainingState& state,
                     const NamedModules& modules, const Optimizers& optimizers);

// Fills the modules and optimisers (built from the same config) and returns the state. Throws a
// setup Error naming the file when it is missing or damaged.
TrainingState load_checkpoint(const std::filesystem::path& path, const NamedModules& modules,
                              const Optimizers& optimizers);

}  // namespace srkit
