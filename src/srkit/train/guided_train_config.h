// What `srkit train --config X.yaml` reads when model.architecture is magnet: MAG-Net's
// hyperparameters, the guided tasks to train on (all three = all-in-one; one = one-by-one), the
// patches, the balance weight, the optimiser and schedule. configs/magnet_*.yaml are examples;
// docs/guided.md lists every key.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "srkit/data/guided_datasets.h"
#include "srkit/nn/magnet.h"
#include "srkit/train/run_settings.h"

namespace srkit {

struct GuidedTrainConfig : RunSettings {
  MagNetConfig network;
  std::vector<GuidedTask> tasks;  // data.tasks
  GuidedPatchOptions patches;     // data.patch, data.batch, data.scales, data.mri_downsampling
  std::filesystem::path data_root;  // data.root (default data/guided)
  uint64_t seed = 1;
  double balance_weight = 0.01;  // loss.balance_weight: L = L1 + w L_balance
};

// Whether a training config describes a guided model (model.architecture: magnet).
bool is_guided_train_config(const std::filesystem::path& yaml);

// Strict like read_train_config: unknown keys and bad values name the file and the key.
GuidedTrainConfig read_guided_train_config(const std::filesystem::path& yaml);

}  // namespace srkit
