#include "srkit/train/train_config.h"

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/nn/m3esr.h"
#include "srkit/train/yaml_config.h"

namespace srkit {
namespace {

LossTerm read_loss(ConfigSection term, const std::string& file) {
  LossTerm loss;
  loss.type = term.required<std::string>("type");
  loss.weight = term.number("weight", 1.0, 0, 1e6);
  if (loss.type == "sobolev") {
    loss.sobolev.s = term.number("s", 1.5, -10, 10);
    loss.sobolev.transform = parse_sobolev_transform(term.get<std::string>("transform", "fft"));
    loss.sobolev.frequency_scale = term.number("frequency_scale", 1.0, 1e-6, 1e6);
  } else if (loss.type == "charbonnier") {
    loss.eps = term.number("eps", 1e-3, 1e-12, 1);
  } else if (loss.type != "l1" && loss.type != "mse" && loss.type != "frequency-l1") {
    throw usage_error(file + ": loss type " + loss.type +
                      ": use l1, mse, charbonnier, sobolev or frequency-l1");
  }
  term.finish();
  return loss;
}

PreferenceSettings read_preference(ConfigSection section, const std::string& file) {
  PreferenceSettings p;
  p.beta_raw = section.number("beta", 4000, 1e-6, 1e9);
  auto energy = section.value("energy");
  if (energy.is_null()) energy = {{"type", "sobolev"}};
  p.energy = read_loss(ConfigSection(energy, "preference.energy", file), file);
  if (p.energy.type != "sobolev" && p.energy.type != "mse") {
    throw usage_error(file + ": preference.energy type " + p.energy.type +
                      ": use sobolev (S-DPO) or mse (Euclidean DPO)");
  }
  const auto noise = section.get<std::string>("noise", "independent");
  if (noise != "independent" && noise != "shared") {
    throw usage_error(file + ": preference.noise " + noise + ": use independent or shared");
  }
  p.shared_noise = noise == "shared";
  p.adversary = section.get<std::string>("adversary", "");
  p.trust_region = section.number("trust_region", 0.1, 0, 1);
  section.finish();
  return p;
}

StructureSettings read_structure(ConfigSection section, const std::string& file) {
  StructureSettings st;
  nlohmann::json conditioning = nlohmann::json::object();
  for (const char* key : {"kind", "cells", "canny"}) {
    if (section.has(key)) conditioning[key] = section.value(key);
  }
  try {
    st.conditioning = structure_conditioning(conditioning);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kUsage) throw;
    throw usage_error(file + ": " + e.what());
  }
  const auto branches = structure_channels(st.conditioning).size();
  const auto& weights = section.value("weights");
  if (weights.is_null()) {
    st.weights.assign(branches, 1.0);
  } else {
    if (!weights.is_array() || weights.size() != branches) {
      throw usage_error(
          file + ": structure.weights must be a list of " + std::to_string(branches) +
          " numbers (one per condition: " + (branches == 2 ? "colour map, edges" : "image") + ")");
    }
    for (const auto& w : weights) {
      if (!w.is_number() || w.get<double>() < 0 || w.get<double>() > 100) {
        throw usage_error(file + ": structure.weights must be numbers in 0..100");
      }
      st.weights.push_back(w.get<double>());
    }
  }
  st.channels = section.integer("channels", 32, 1, 4096);
  st.blocks = section.integer("blocks", 1, 1, 16);
  st.dropout = section.number("dropout", 0.1, 0, 1);
  section.finish();
  return st;
}

DistillSettings read_distill(ConfigSection section, const std::string& file) {
  DistillSettings d;
  d.teacher = section.required<std::string>("teacher");
  d.vsd_weight = section.number("vsd_weight", 1, 0, 1e6);
  d.level_min = section.number("level_min", 0.02, 0, 1);
  d.level_max = section.number("level_max", 0.98, 0, 1);
  if (d.level_min >= d.level_max) {
    throw usage_error(file + ": distill.level_min must be below distill.level_max");
  }
  d.guidance = section.number("guidance", 1, 0, 100);
  d.source = section.get<std::string>("source", "gt");
  if (d.source != "gt" && d.source != "lr" && d.source != "output") {
    throw usage_error(file + ": distill.source " + d.source +
                      ": use gt (the HR patch), lr (the upsampled LR patch) or output (the "
                      "generator's)");
  }
  d.generator_level = section.number("generator_level", 1, 1e-3, 1);
  auto fake = section.value("fake");
  if (fake.is_null()) {
    fake = {{"rank", 8}, {"alpha", 8}, {"targets", {".*\\.conv[12]", ".*\\.film"}}};
  }
  try {
    d.fake = lora_options(fake);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kUsage) throw;
    throw usage_error(file + ": distill.fake: " + e.what());
  }
  section.finish();
  return d;
}

MultimodalSettings read_multimodal(ConfigSection section, const std::string& file) {
  MultimodalSettings m;
  auto t = section.section("temperature");
  m.temperature.kind = t.get<std::string>("schedule", "cosine");
  if (m.temperature.kind != "cosine" && m.temperature.kind != "adaptive" &&
      m.temperature.kind != "fixed") {
    throw usage_error(file + ": multimodal.temperature.schedule " + m.temperature.kind +
                      ": use cosine, adaptive or fixed");
  }
  m.temperature.max = t.number("max", 2.0, 1e-3, 100);
  m.temperature.min = t.number("min", 0.5, 1e-3, 100);
  m.temperature.value = t.number("value", 1.0, 1e-3, 100);
  m.temperature.alpha = t.number("alpha", 0.5, 0, 4);
  t.finish();
  m.align_weight = section.number("align_weight", 0.01, 0, 1e3);
  m.contribution_temperature = section.number("contribution_temperature", 0.5, 1e-3, 100);
  m.contribution_every = section.integer("contribution_every", 10, 1, 1 << 20);
  m.contribution_decay = section.number("contribution_decay", 0.9, 0, 0.9999);
  m.logit_penalty = section.number("logit_penalty", 1e-4, 0, 1e3);
  m.modality_dropout = section.number("modality_dropout", 0.1, 0, 1);
  m.segmentation_region = section.integer("segmentation_region", 8, 2, 256);
  section.finish();
  return m;
}

}  // namespace

TrainConfig read_train_config(const std::filesystem::path& yaml) {
  TrainConfig c;
  c.source = yaml;
  const auto file = yaml.string();
  auto document = load_yaml_file(yaml);
  c.text = document.text;
  ConfigSection top(document.root, "", file);
  c.name = top.required<std::string>("name");
  c.output = top.get<std::string>("output", "runs/" + c.name);
  c.init = top.get<std::string>("init", "");

  auto model = top.section("model");
  c.scale = model.integer("scale", 4, 1, 16);
  const auto& model_node = top.value("model");
  c.network = model_node.is_null() ? nlohmann::json::object() : model_node;
  c.network["scale"] = c.scale;
  if (c.init.empty() && !c.network.contains("architecture")) {
    top.fail("needs model.architecture (rdn, rrdn or compact) or init (a registered model)");
  }
  if (!c.init.empty()) {
    // A flow model's init is declared (model.architecture: flow_unet): the config reads without
    // the file, which the flow steps open and check.
    for (const auto& [key, value] : c.network.items()) {
      if (key != "scale" && !(key == "architecture" && value == "flow_unet")) {
        throw usage_error(file + ": model." + key + " cannot be set with init (the network is " +
                          c.init + "'s); keep only model.scale (and architecture: flow_unet to " +
                          "fine-tune a flow model)");
      }
    }
  }
  // make_network checks the model keys; m3esr_config those of M3ESR.
  c.is_multimodal = c.network.value("architecture", std::string()) == "m3esr";
  if (c.is_multimodal) {
    if (!c.init.empty()) {
      throw usage_error(file + ": init: an m3esr model trains from scratch (leave out init)");
    }
    M3esrConfig network;
    try {
      network = m3esr_config(c.network);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kUsage) throw;
      throw usage_error(file + ": " + e.what());
    }
    for (const auto& name : network.modalities) {
      if (name != "edges" && name != "segmentation") {
        throw usage_error(file + ": model.modalities: " + name +
                          " maps cannot be made for training patches (training computes edges "
                          "and segmentation from each LR patch); keep edges and segmentation");
      }
    }
    c.multimodal = read_multimodal(top.section("multimodal"), file);
  } else if (top.has("multimodal")) {
    top.fail("multimodal is a section of m3esr models (model.architecture: m3esr)");
  }

  auto data = top.section("data");
  c.train_folder = data.required<std::string>("train");
  c.train_lr_folder = data.get<std::string>("lr", "");
  c.patches.scale = c.scale;
  c.patches.patch = data.integer("patch", 128, 1, 4096);
  if (c.patches.patch % c.scale != 0) {
    throw usage_error(file + ": data.patch must be a multiple of model.scale");
  }
  c.patches.augment = data.get<bool>("augment", true);
  c.patches.patches_per_image = data.integer("patches_per_image", 1, 1, 1 << 20);
  c.patches.degradation = data.get<std::string>("degradation", "bicubic");
  c.patches.hr_downscale = data.number("hr_downscale", 1.0, 1.0, 64.0);
  c.batch = data.integer("batch", 16, 1, 65536);
  c.workers = static_cast<int>(data.integer("workers", 2, 1, 256));
  c.seed = static_cast<uint64_t>(data.integer("seed", 1, 0, INT64_MAX));
  const bool flow = c.network.value("architecture", std::string()) == "flow_unet";
  if (flow) c.imitate = data.get<std::string>("imitate", "");
  data.finish();

  auto validation = top.section("validation");
  c.val_folder = validation.get<std::string>("folder", "");
  c.val_every = validation.integer("every", 500, 1, INT64_MAX);
  c.val_crop = validation.integer("crop", 256, 0, 1 << 20);
  if (flow) c.val_steps = validation.integer("steps", 4, 1, 1000);
  validation.finish();

  if (flow) {
    auto noise = top.section("flow");
    c.logit_mean = noise.number("logit_mean", 0.0, -10, 10);
    c.logit_std = noise.number("logit_std", 1.0, 1e-3, 10);
    noise.finish();
    if (top.has("lora")) {
      c.has_lora = true;
      try {
        c.lora = lora_options(top.value("lora"));
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::kUsage) throw;
        throw usage_error(file + ": " + e.what());
      }
    }
    if (top.has("preference")) {
      c.has_preference = true;
      c.preference = read_preference(top.section("preference"), file);
    }
    if (top.has("structure")) {
      c.has_structure = true;
      c.structure = read_structure(top.section("structure"), file);
    }
    if (top.has("distill")) {
      c.has_distill = true;
      c.distill = read_distill(top.section("distill"), file);
    }
    if (c.has_structure && (c.has_lora || c.has_preference || c.has_distill)) {
      throw usage_error(file +
                        ": structure trains a conditioned teacher (all its weights and its "
                        "adapter): leave out lora, preference and distill");
    }
    if (c.has_distill && (c.has_lora || c.has_preference || !c.imitate.empty())) {
      throw usage_error(file +
                        ": distill trains the one-step generator from init (the fake score's "
                        "adapter is distill.fake): leave out lora, preference and data.imitate");
    }
    const bool tunes = c.has_lora || c.has_preference || !c.imitate.empty() || c.has_distill;
    if (tunes && c.init.empty()) {
      throw usage_error(file +
                        ": lora, preference, distill and data.imitate fine-tune a trained "
                        "flow model: set init to its .srkit file");
    }
    if (c.has_preference && !c.has_lora) {
      throw usage_error(file +
                        ": preference trains a LoRA adapter on the init model: add a "
                        "lora section (rank, alpha, targets)");
    }
    if (c.has_preference && !c.imitate.empty()) {
      throw usage_error(file +
                        ": data.imitate and preference do not go together (the winner is "
                        "the HR photo)");
    }
  }

  const auto& losses = top.value("loss");
  if (losses.is_null()) {
    c.losses.push_back(LossTerm());
  } else if (!losses.is_array() || losses.empty()) {
    throw usage_error(file + ": loss must be a list of terms, e.g. [{type: l1}]");
  } else {
    for (size_t i = 0; i < losses.size(); ++i) {
      c.losses.push_back(
          read_loss(ConfigSection(losses[i], "loss[" + std::to_string(i) + "]", file), file));
    }
  }

  static_cast<OptimizerSchedule&>(c) = read_optimizer_schedule(top, OptimizerSchedule{});

  c.ema = top.number("ema", 0.999, 0, 0.999999);
  if ((c.has_lora || c.has_preference) && c.ema > 0) {
    throw usage_error(file + ": ema: a LoRA run exports its adapter's own weights; set ema: 0");
  }
  if (c.has_distill && c.ema > 0) {
    throw usage_error(file +
                      ": ema: distillation exports the generator's own weights (as "
                      "OSEDiff); set ema: 0");
  }
  c.checkpoint_every = top.integer("checkpoint_every", 500, 1, INT64_MAX);
  c.log_every = top.integer("log_every", 10, 1, INT64_MAX);
  top.finish();
  return c;
}

TrainingBatches::TrainingBatches(const TrainConfig& config, int rank, int world_size)
    : output_(config.output), world_size_(world_size) {
  if (config.batch % world_size != 0) {
    throw usage_error(config.source.string() + ": data.batch (" + std::to_string(config.batch) +
                      ") must be divisible by the number of processes (" +
                      std::to_string(world_size) + ")");
  }
  if (!config.train_lr_folder.empty()) {
    dataset_ = std::make_unique<PairedFolderDataset>(config.train_lr_folder, config.train_folder,
                                                     config.patches);
  } else {
    dataset_ = std::make_unique<HrFolderDataset>(config.train_folder, config.patches);
  }
  LoaderOptions options;
  options.batch = config.batch / world_size;
  options.seed = config.seed;
  options.workers = config.workers;
  options.rank = rank;
  options.world_size = world_size;
  loader_ = std::make_unique<BatchLoader>(*dataset_, options);
}

Batch TrainingBatches::next() {
  auto batch = loader_->next();
  last_epoch_ = batch.epoch;
  return batch;
}

nlohmann::json TrainingBatches::state() const {
  return {{"epoch", loader_->epoch()}, {"position", loader_->position() * world_size_}};
}

void TrainingBatches::restore(const nlohmann::json& state) {
  const int64_t position = state.at("position").get<int64_t>();
  if (position % world_size_ != 0) {
    throw usage_error(output_.string() + "/checkpoint.pt stopped at a place that " +
                      std::to_string(world_size_) +
                      " processes cannot share; resume with the process count it was saved with");
  }
  loader_->seek(state.at("epoch").get<int64_t>(), position / world_size_);
}

nlohmann::json loss_terms_record(const std::vector<LossTerm>& terms, const torch::Tensor& values) {
  nlohmann::json record = nlohmann::json::object();
  for (size_t k = 0; k < terms.size(); ++k) {
    auto key = terms[k].type;
    if (record.contains(key)) key += "_" + std::to_string(k);  // the same type twice
    record[key] = values[static_cast<int64_t>(k)].item<double>();
  }
  return record;
}

LossValue compute_loss(const std::vector<LossTerm>& terms, const torch::Tensor& prediction,
                       const torch::Tensor& target) {
  LossValue value;
  for (const auto& term : terms) {
    torch::Tensor loss;
    if (term.type == "l1") {
      loss = pixel_l1_loss(prediction, target);
    } else if (term.type == "mse") {
      loss = pixel_mse_loss(prediction, target);
    } else if (term.type == "charbonnier") {
      loss = charbonnier_loss(prediction, target, term.eps);
    } else if (term.type == "sobolev") {
      loss = sobolev_loss(prediction, target, term.sobolev);
    } else {
      loss = frequency_l1_loss(prediction, target);
    }
    value.terms.push_back(loss.item<double>());
    value.total = value.total.defined() ? value.total + term.weight * loss : term.weight * loss;
  }
  return value;
}

}  // namespace srkit
