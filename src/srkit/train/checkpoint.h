// Training checkpoints: everything needed to continue a run exactly where it stopped (network,
// its moving average, the optimiser's moments, the step, the data loader's place, the RNG), in one
// LibTorch archive written atomically.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <torch/optim/optimizer.h>

#include <torch/nn/module.h>

namespace srkit {

struct TrainingState {
  int64_t step = 0;  // steps completed
  int64_t epoch = 0;
  int64_t position = 0;  // samples of the epoch taken so far, by all processes together
  int64_t ema_updates = 0;
  int world_size = 1;       // processes of the run that wrote it
  std::string config_text;  // the YAML the run was started with
};

void save_checkpoint(const std::filesystem::path& path, const TrainingState& state,
                     torch::nn::Module& network, torch::nn::Module& average,
                     torch::optim::Optimizer& optimizer);

// Fills the networks and the optimiser (built from the same config) and returns the state. Throws a
// setup Error naming the file when it is missing or damaged.
TrainingState load_checkpoint(const std::filesystem::path& path, torch::nn::Module& network,
                              torch::nn::Module& average, torch::optim::Optimizer& optimizer);

}  // namespace srkit
