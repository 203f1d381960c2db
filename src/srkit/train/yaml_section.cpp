#include "srkit/train/yaml_section.h"

#include <fstream>
#include <sstream>

namespace srkit {

YamlSection::YamlSection(const YAML::Node& node, std::string path, std::string file)
    : node_(node), path_(std::move(path)), file_(std::move(file)) {
  if (node_ && !node_.IsMap()) fail("must be a mapping of keys");
}

bool YamlSection::has(const std::string& key) {
  known_.insert(key);
  return node_ && node_[key];
}

YAML::Node YamlSection::node(const std::string& key) {
  known_.insert(key);
  return node_ ? node_[key] : YAML::Node();
}

YamlSection YamlSection::section(const std::string& key) {
  return YamlSection(node(key), where(key), file_);
}

double YamlSection::number(const std::string& key, double fallback, double low, double high) {
  const auto value = get<double>(key, fallback);
  if (!(value >= low && value <= high)) {
    throw usage_error(file_ + ": " + where(key) + " must be from " + std::to_string(low) + " to " +
                      std::to_string(high));
  }
  return value;
}

int64_t YamlSection::integer(const std::string& key, int64_t fallback, int64_t low, int64_t high) {
  const auto value = get<int64_t>(key, fallback);
  if (value < low || value > high) {
    throw usage_error(file_ + ": " + where(key) + " must be an integer from " +
                      std::to_string(low) + " to " + std::to_string(high));
  }
  return value;
}

void YamlSection::finish() const {
  if (!node_) return;
  for (const auto& item : node_) {
    const auto key = item.first.as<std::string>();
    if (!known_.count(key)) throw usage_error(file_ + ": unknown key " + where(key));
  }
}

void YamlSection::fail(const std::string& problem) const {
  throw usage_error(file_ + ": " + (path_.empty() ? "the file" : path_) + " " + problem);
}

std::string YamlSection::where(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

YamlDocument load_yaml_file(const std::filesystem::path& path) {
  const auto file = path.string();
  std::ifstream in(path);
  if (!in) throw usage_error(file + ": cannot read the config (check the path)");
  std::stringstream text;
  text << in.rdbuf();
  YamlDocument document;
  document.text = text.str();
  try {
    document.root = YAML::Load(document.text);
  } catch (const YAML::Exception& e) {
    throw usage_error(file + ": not valid YAML (" + e.what() + ")");
  }
  return document;
}

nlohmann::json yaml_to_json(const YAML::Node& node) {
  if (node.IsMap()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& item : node) out[item.first.as<std::string>()] = yaml_to_json(item.second);
    return out;
  }
  if (node.IsSequence()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : node) out.push_back(yaml_to_json(item));
    return out;
  }
  if (!node.IsScalar()) return nullptr;
  int64_t integer = 0;
  double number = 0;
  bool boolean = false;
  if (node.Tag() != "!" && YAML::convert<int64_t>::decode(node, integer)) return integer;
  if (node.Tag() != "!" && YAML::convert<double>::decode(node, number)) return number;
  if (node.Tag() != "!" && YAML::convert<bool>::decode(node, boolean)) return boolean;
  return node.Scalar();
}

OptimizerSchedule read_optimizer_schedule(YamlSection& top, const OptimizerSchedule& defaults) {
  OptimizerSchedule c = defaults;
  auto optimizer = top.section("optimizer");
  c.optimizer = optimizer.get<std::string>("type", defaults.optimizer);
  if (c.optimizer != "adam" && c.optimizer != "adamw") {
    throw usage_error(top.file() + ": optimizer.type must be adam or adamw");
  }
  c.lr = optimizer.number("lr", defaults.lr, 0, 10);
  c.beta1 = optimizer.number("beta1", defaults.beta1, 0, 0.999999);
  c.beta2 = optimizer.number("beta2", defaults.beta2, 0, 0.999999);
  c.weight_decay = optimizer.number("weight_decay", defaults.weight_decay, 0, 10);
  c.clip_grad_norm = optimizer.number("clip_grad_norm", defaults.clip_grad_norm, 0, 1e9);
  optimizer.finish();
  auto schedule = top.section("schedule");
  c.steps = schedule.integer("steps", defaults.steps, 1, INT64_MAX);
  c.warmup = schedule.integer("warmup", defaults.warmup, 0, c.steps);
  c.min_lr = schedule.number("min_lr", defaults.min_lr, 0, c.lr);
  c.time_limit_minutes = schedule.number("time_limit_minutes", defaults.time_limit_minutes, 0, 1e7);
  schedule.finish();
  return c;
}

}  // namespace srkit
