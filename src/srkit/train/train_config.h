// What `srkit train --config NAME.yaml` reads: the network, the data, the losses, the optimiser and
// its schedule, and how often to validate, log and checkpoint. Paths are relative to the working
// directory. configs/ holds worked examples; docs/training.md lists every key.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "srkit/data/datasets.h"
#include "srkit/nn/lora.h"
#include "srkit/ops/structure_conditions.h"
#include "srkit/train/losses.h"
#include "srkit/train/modality_fusion.h"
#include "srkit/train/run_settings.h"

namespace srkit {

struct LossTerm {
  std::string type = "l1";  // l1, mse, charbonnier, sobolev, frequency-l1
  double weight = 1.0;
  SobolevOptions sobolev;  // for sobolev
  double eps = 1e-3;       // for charbonnier
};

// Preference alignment of a flow model (seed 001; train/preference_step.h): the `preference`
// section of a config whose init is the SFT flow model and whose `lora` is the adapter trained.
struct PreferenceSettings {
  double beta_raw = 4000;  // the authors' beta_raw: an effective beta of 2000
  // The per-sample energy of a velocity residual: sobolev (S-DPO; its s, transform and
  // frequency_scale) or mse (the Euclidean ablation).
  LossTerm energy;
  // Winner and data-loser drawn with independent noise and levels (the authors' code), or the
  // classic Diffusion-DPO's shared ones.
  bool shared_noise = false;
  // AS-DPO: an adapter file trained on the init model to imitate a baseline upscaler (a flow run
  // with data.imitate), and the trust region lambda of the adversarial loser; empty = S-DPO.
  std::filesystem::path adversary;
  double trust_region = 0.1;
};

// A flow teacher conditioned on structure (seed 002, ICM-SR; the `structure` section of a flow
// config): an adapter (nn/structure_adapter.h) trained with the network on the structure of each
// HR patch.
struct StructureSettings {
  StructureConditioning conditioning;  // kind (icm / dense), cells, canny thresholds
  std::vector<double> weights;         // each condition's adapter weight (1 each by default)
  int64_t channels = 32;               // the adapter's width
  int64_t blocks = 1;                  // its residual blocks per level
  double dropout = 0.1;  // a sample's conditioning is dropped with this probability (guidance)
};

// One-step distillation of a flow model by variational score distillation (seed 002; the
// `distill` section; train/distillation_step.h). The generator starts from init.
struct DistillSettings {
  // The "real score": a flow model file, conditioned on structure (a run with a `structure`
  // section) or not (the plain SFT model).
  std::filesystem::path teacher;
  double vsd_weight = 1;                      // lambda_vsd (OSEDiff's 1)
  double level_min = 0.02, level_max = 0.98;  // the VSD's noise levels (OSEDiff's t in 20..979)
  double guidance = 1;  // classifier-free guidance of the conditioned teacher; 1 = none
  // What the teacher's structure is computed from: gt (the HR patch), lr (the upsampled LR
  // patch) or output (the generator's output).
  std::string source = "gt";
  double generator_level = 1;  // the noise level the one-step generator runs at
  LoraOptions fake;            // the fake score: the teacher + this adapter, trained on G's output
};

// Multi-modal fusion (seed 000, M3ESR; model.architecture m3esr; the `multimodal` section;
// train/multimodal_step.h): how the modality weights are trained.
struct MultimodalSettings {
  TemperatureSchedule temperature;
  double align_weight = 0.01;             // lambda of L_align (0: no alignment)
  double contribution_temperature = 0.5;  // tau_c of the alignment target
  int64_t contribution_every = 10;        // steps between drop-one measurements
  double contribution_decay = 0.9;        // the contributions' moving average
  double logit_penalty = 1e-4;            // on the mean squared gate logit (dynamic fusion)
  double modality_dropout = 0.1;          // a sample's map is dropped with this probability
  int64_t segmentation_region = 8;        // superpixel size, LR pixels (ops/modality_maps.h)
};

// The optimiser, schedule and output fields (lr, steps, name, output, ...) come from RunSettings.
struct TrainConfig : RunSettings {
  nlohmann::json network;  // model: {architecture, scale, hyperparameters} for make_network
  // What training starts from: a registered RDN/RRDN model whose imported weights start training,
  // or a model file (.srkit) of the architecture trained; for a flow model (model.architecture
  // may then be left out), its settings too.
  std::string init;
  int64_t scale = 4;

  std::filesystem::path train_folder;     // HR photos
  std::filesystem::path train_lr_folder;  // optional: paired LR photos (same stems)
  PatchOptions patches;
  int64_t batch = 16;  // over all processes
  int workers = 2;
  uint64_t seed = 1;

  std::filesystem::path val_folder;  // held-out HR photos; empty = no validation (val_every)
  int64_t val_crop = 256;            // centre crop of each HR photo (0 = whole photo)

  std::vector<LossTerm> losses;

  double ema = 0.999;  // decay of the exported weights' moving average; 0 = export raw weights

  // Flow models (model.architecture: flow_unet; train/flow_step.h): the noise levels training
  // draws, s = sigmoid(n) with n ~ N(logit_mean, logit_std), and the steps validation samples
  // with (the model's solver, seed 0).
  double logit_mean = 0, logit_std = 1;
  int64_t val_steps = 4;
  // Flow models: a model (registered name or file) whose output on each LR patch replaces the HR
  // patch as the target (data.imitate: AS-DPO's adversary imitates a baseline upscaler).
  std::string imitate;
  // Flow models: train only a new LoRA adapter on the init model (`lora` section); absent = train
  // all weights.
  bool has_lora = false;
  LoraOptions lora;
  // Flow models: preference alignment instead of the flow loss (`preference` section).
  bool has_preference = false;
  PreferenceSettings preference;
  // Flow models: train a structure-conditioned teacher (`structure` section).
  bool has_structure = false;
  StructureSettings structure;
  // Flow models: one-step distillation (`distill` section) instead of the flow loss.
  bool has_distill = false;
  DistillSettings distill;
  // M3ESR (model.architecture m3esr).
  bool is_multimodal = false;
  MultimodalSettings multimodal;
};

// Reads and checks a config. Throws a usage Error naming the file and the key for unknown keys,
// wrong types, out-of-range values and missing required ones (name, data.train, loss terms...).
TrainConfig read_train_config(const std::filesystem::path& yaml);

// The batches a config's data section describes (HR photos degraded on the fly, or LR/HR pairs
// from two folders), this process's share of each step's batch among `world_size` ranks; and
// where the sequence stands, for checkpoints that resume on any number of processes.
class TrainingBatches {
 public:
  // A usage Error naming the config when data.batch does not split over the ranks.
  TrainingBatches(const TrainConfig& config, int rank, int world_size);
  Batch next();
  int64_t last_epoch() const { return last_epoch_; }  // of the last batch drawn
  // {"epoch", "position"}: the samples all ranks took in the epoch.
  nlohmann::json state() const;
  // A usage Error when the position does not split over this run's ranks.
  void restore(const nlohmann::json& state);

 private:
  std::filesystem::path output_;
  int world_size_;
  std::unique_ptr<PairDataset> dataset_;
  std::unique_ptr<BatchLoader> loader_;
  int64_t last_epoch_ = 0;
};

// The loss terms' values ([K]) for the log, by type ("sobolev_2" for a second term of a type).
nlohmann::json loss_terms_record(const std::vector<LossTerm>& terms, const torch::Tensor& values);

// The loss of a prediction against its target: the weighted sum of the terms, plus each term's
// value (unweighted) for the log.
struct LossValue {
  torch::Tensor total;
  std::vector<double> terms;
};
LossValue compute_loss(const std::vector<LossTerm>& terms, const torch::Tensor& prediction,
                       const torch::Tensor& target);

}  // namespace srkit
