// The smallest flow network the tests use: 8 channels over two levels, one block a level, an
// embedding of 16 (a trained model has the same structure, wider).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <torch/torch.h>

#include "srkit/models/flow_model.h"
#include "srkit/nn/flow_unet.h"

namespace srkit::testing {

inline FlowUNetOptions tiny_flow_options() {
  FlowUNetOptions options;
  options.channels = 8;
  options.multipliers = {1, 2};
  options.blocks = 1;
  options.embedding = 16;
  return options;
}

// Writes an x2 residual flow model of the tiny network with random weights drawn from `seed` (a
// trained one samples the same way, slower), sampling with `steps` Euler steps by default.
inline void save_random_flow_model(const std::filesystem::path& path, const std::string& name,
                                   uint64_t seed, int64_t steps) {
  torch::manual_seed(seed);
  FlowUNet network(tiny_flow_options());
  {
    torch::NoGradGuard no_grad;
    for (auto& p : network->parameters()) p.normal_(0, 0.1);
  }
  FlowModelSettings settings;
  settings.scale = 2;
  settings.residual = true;
  settings.sampling = {FlowSolver::kEuler, steps};
  save_flow_model(path, *network, settings, {{"name", name}});
}

}  // namespace srkit::testing
