// What `srkit train --config NAME.yaml` reads: the network, the data, the losses, the optimiser and
// its schedule, and how often to validate, log and checkpoint. Paths are relative to the working
// directory. configs/ holds worked examples; docs/training.md lists every key.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "srkit/data/datasets.h"
#include "srkit/train/losses.h"
#include "srkit/train/run_settings.h"

namespace srkit {

struct LossTerm {
  std::string type = "l1";  // l1, mse, charbonnier, sobolev, frequency-l1
  double weight = 1.0;
  SobolevOptions sobolev;  // for sobolev
  double eps = 1e-3;       // for charbonnier
};

// The optimiser, schedule and output fields (lr, steps, name, output, ...) come from RunSettings.
struct TrainConfig : RunSettings {
  nlohmann::json network;  // model: {architecture, scale, hyperparameters} for make_network
  std::string init;        // a registered RDN/RRDN model whose imported weights start training
  int64_t scale = 4;

  std::filesystem::path train_folder;     // HR photos
  std::filesystem::path train_lr_folder;  // optional: paired LR photos (same stems)
  PatchOptions patches;
  int64_t batch = 16;  // over all processes
  int workers = 2;
  uint64_t seed = 1;

  std::filesystem::path val_folder;  // held-out HR photos; empty = no validation (val_every)
  int64_t val_crop = 256;  // centre crop of each HR photo (0 = whole photo)

  std::vector<LossTerm> losses;

  double ema = 0.999;  // decay of the exported weights' moving average; 0 = export raw weights
};

// Reads and checks a config. Throws a usage Error naming the file and the key for unknown keys,
// wrong types, out-of-range values and missing required ones (name, data.train, loss terms...).
TrainConfig read_train_config(const std::filesystem::path& yaml);

// The loss of a prediction against its target: the weighted sum of the terms, plus each term's
// value (unweighted) for the log.
struct LossValue {
  torch::Tensor total;
  std::vector<double> terms;
};
LossValue compute_loss(const std::vector<LossTerm>& terms, const torch::Tensor& prediction,
                       const torch::Tensor& target);

}  // namespace srkit
