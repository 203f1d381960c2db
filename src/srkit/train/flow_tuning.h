// What the fine-tuning runs of a flow model share (train/flow_step.h with init, and
// train/preference_step.h): the trained model they start from, adapters made on it, and the
// export of a LoRA run: the model with its adapters merged (the card lists them), which `srkit
// upscale` runs at full speed, and the trained adapter apart (<name>.lora.srkit) for stacking.
//
//   InitialFlowModel base = read_initial_flow_model(config);     // config.init
//   Lora adversary = load_adapter_for(config.preference.adversary, base, "preference.adversary");
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "srkit/models/flow_model.h"
#include "srkit/nn/lora.h"
#include "srkit/train/train_config.h"

namespace srkit {

// The flow model a run starts from (config.init), as a trainable network.
struct InitialFlowModel {
  FlowUNet network{nullptr};
  FlowModelSettings settings;
  // What adapters made on it record as their base: {"name", "file", "sha256"}.
  nlohmann::json identity;
  nlohmann::json adapters;  // those already merged into it (its card's), [] for an SFT model
};

// A usage Error naming the config when init is not a flow model file or its scale is not
// model.scale; setup Errors naming the file when it is missing or damaged.
InitialFlowModel read_initial_flow_model(const TrainConfig& config);

// A LoRA run's trainable part: freezes `network` and adds a new adapter of config.lora (seeded by
// data.seed) to `stack` (the network's) as config.name. A usage Error naming the config when a
// target matches no layer.
Lora add_trainable_adapter(torch::nn::Module& network, const TrainConfig& config, LoraStack& stack);

// The adapter file `path` rebuilt on `network` (base's architecture), after checking that it was
// trained on `base` (the sha256 it records): a usage Error naming the config's `key` otherwise.
Lora load_adapter_for(const std::filesystem::path& path, const InitialFlowModel& base,
                      torch::nn::Module& network, const TrainConfig& config,
                      const std::string& key);

// A new network holding `network`'s weights with each adapter's product (scale 1) added.
FlowUNet merged_network(FlowUNetImpl& network, const std::vector<Lora>& adapters);

// Writes the model file `path` (atomically): `network` with `adapter` merged, the card listing
// base's merged adapters and this one as `name`; and the adapter itself beside it, as
// <stem>.lora.srkit. `about`: the card's name, steps, ...
void export_adapted_flow_model(const std::filesystem::path& path, const InitialFlowModel& base,
                               const std::string& name, Lora& adapter, nlohmann::json about);

// Where export_adapted_flow_model writes the adapter of the model file `path`.
std::filesystem::path adapter_path_of(const std::filesystem::path& model_file);

}  // namespace srkit
