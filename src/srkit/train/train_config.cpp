#include "srkit/train/train_config.h"

#include <fstream>
#include <set>
#include <sstream>

#include <torch/torch.h>
#include <yaml-cpp/yaml.h>

#include "srkit/core/error.h"

namespace srkit {
namespace {

// A YAML mapping read strictly: the keys read are remembered; finish() rejects the others.
class Section {
 public:
  Section(const YAML::Node& node, std::string path, std::string file)
      : node_(node), path_(std::move(path)), file_(std::move(file)) {
    if (node_ && !node_.IsMap()) fail("must be a mapping of keys");
  }
  bool has(const std::string& key) {
    known_.insert(key);
    return node_ && node_[key];
  }
  YAML::Node node(const std::string& key) {
    known_.insert(key);
    return node_ ? node_[key] : YAML::Node();
  }
  Section section(const std::string& key) { return Section(node(key), where(key), file_); }

  template <typename T>
  T get(const std::string& key, T fallback) {
    if (!has(key)) return fallback;
    try {
      return node_[key].as<T>();
    } catch (const YAML::Exception&) {
      throw usage_error(file_ + ": " + where(key) + " has the wrong type (" +
                        YAML::Dump(node_[key]) + ")");
    }
  }
  template <typename T>
  T required(const std::string& key) {
    if (!has(key)) throw usage_error(file_ + ": " + where(key) + " is required");
    return get<T>(key, T());
  }
  double number(const std::string& key, double fallback, double low, double high) {
    const auto value = get<double>(key, fallback);
    if (!(value >= low && value <= high)) {
      throw usage_error(file_ + ": " + where(key) + " must be from " + std::to_string(low) +
                        " to " + std::to_string(high));
    }
    return value;
  }
  int64_t integer(const std::string& key, int64_t fallback, int64_t low, int64_t high) {
    const auto value = get<int64_t>(key, fallback);
    if (value < low || value > high) {
      throw usage_error(file_ + ": " + where(key) + " must be an integer from " +
                        std::to_string(low) + " to " + std::to_string(high));
    }
    return value;
  }
  void finish() const {
    if (!node_) return;
    for (const auto& item : node_) {
      const auto key = item.first.as<std::string>();
      if (!known_.count(key)) throw usage_error(file_ + ": unknown key " + where(key));
    }
  }
  [[noreturn]] void fail(const std::string& problem) const {
    throw usage_error(file_ + ": " + (path_.empty() ? "the file" : path_) + " " + problem);
  }

 private:
  std::string where(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }
  YAML::Node node_;
  std::string path_, file_;
  std::set<std::string> known_;
};

// YAML scalars to JSON numbers, booleans or strings; mappings and sequences recursively.
nlohmann::json to_json(const YAML::Node& node) {
  if (node.IsMap()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& item : node) out[item.first.as<std::string>()] = to_json(item.second);
    return out;
  }
  if (node.IsSequence()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : node) out.push_back(to_json(item));
    return out;
  }
  if (!node.IsScalar()) return nullptr;
  const auto text = node.Scalar();
  int64_t integer = 0;
  double number = 0;
  bool boolean = false;
  if (node.Tag() != "!" && YAML::convert<int64_t>::decode(node, integer)) return integer;
  if (node.Tag() != "!" && YAML::convert<double>::decode(node, number)) return number;
  if (node.Tag() != "!" && YAML::convert<bool>::decode(node, boolean)) return boolean;
  return text;
}

LossTerm read_loss(Section term, const std::string& file) {
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

}  // namespace

TrainConfig read_train_config(const std::filesystem::path& yaml) {
  TrainConfig c;
  c.source = yaml;
  const auto file = yaml.string();
  std::ifstream in(yaml);
  if (!in) throw usage_error(file + ": cannot read the config (check the path)");
  std::stringstream text;
  text << in.rdbuf();
  c.text = text.str();
  YAML::Node root;
  try {
    root = YAML::Load(c.text);
  } catch (const YAML::Exception& e) {
    throw usage_error(file + ": not valid YAML (" + e.what() + ")");
  }
  Section top(root, "", file);
  c.name = top.required<std::string>("name");
  c.output = top.get<std::string>("output", "runs/" + c.name);
  c.init = top.get<std::string>("init", "");

  auto model = top.section("model");
  c.scale = model.integer("scale", 4, 1, 16);
  const auto model_node = top.node("model");
  c.network = model_node ? to_json(model_node) : nlohmann::json::object();
  c.network["scale"] = c.scale;
  if (c.init.empty() && !c.network.contains("architecture")) {
    top.fail("needs model.architecture (rdn, rrdn or compact) or init (a registered model)");
  }
  if (!c.init.empty()) {
    for (const auto& [key, value] : c.network.items()) {
      if (key != "scale") {
        throw usage_error(file + ": model." + key + " cannot be set with init (the network is " +
                          c.init + "'s); keep only model.scale");
      }
    }
  }
  // make_network checks the model keys.

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
  c.batch = data.integer("batch", 16, 1, 65536);
  c.workers = static_cast<int>(data.integer("workers", 2, 1, 256));
  c.seed = static_cast<uint64_t>(data.integer("seed", 1, 0, INT64_MAX));
  data.finish();

  auto validation = top.section("validation");
  c.val_folder = validation.get<std::string>("folder", "");
  c.val_every = validation.integer("every", 500, 1, INT64_MAX);
  c.val_crop = validation.integer("crop", 256, 0, 1 << 20);
  validation.finish();

  const auto losses = top.node("loss");
  if (!losses) {
    c.losses.push_back(LossTerm());
  } else if (!losses.IsSequence() || losses.size() == 0) {
    throw usage_error(file + ": loss must be a list of terms, e.g. [{type: l1}]");
  } else {
    for (size_t i = 0; i < losses.size(); ++i) {
      c.losses.push_back(
          read_loss(Section(losses[i], "loss[" + std::to_string(i) + "]", file), file));
    }
  }

  auto optimizer = top.section("optimizer");
  c.optimizer = optimizer.get<std::string>("type", "adamw");
  if (c.optimizer != "adam" && c.optimizer != "adamw") {
    throw usage_error(file + ": optimizer.type must be adam or adamw");
  }
  c.lr = optimizer.number("lr", 2e-4, 0, 10);
  c.beta1 = optimizer.number("beta1", 0.9, 0, 0.999999);
  c.beta2 = optimizer.number("beta2", 0.99, 0, 0.999999);
  c.weight_decay = optimizer.number("weight_decay", 0, 0, 10);
  c.clip_grad_norm = optimizer.number("clip_grad_norm", 0, 0, 1e9);
  optimizer.finish();

  auto schedule = top.section("schedule");
  c.steps = schedule.integer("steps", 1000, 1, INT64_MAX);
  c.warmup = schedule.integer("warmup", 0, 0, c.steps);
  c.min_lr = schedule.number("min_lr", 0, 0, c.lr);
  c.time_limit_minutes = schedule.number("time_limit_minutes", 0, 0, 1e7);
  schedule.finish();

  c.ema = top.number("ema", 0.999, 0, 0.999999);
  c.checkpoint_every = top.integer("checkpoint_every", 500, 1, INT64_MAX);
  c.log_every = top.integer("log_every", 10, 1, INT64_MAX);
  top.finish();
  return c;
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
