#include "srkit/train/yaml_config.h"

#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace srkit {
namespace {

// A YAML string as JSON text: JSON holds UTF-8 only (dumping a string that is not would throw
// wherever the config is shown or saved), so text that is not is refused here, with its line.
std::string utf8_text(const YAML::Node& node) {
  const auto text = node.as<std::string>();
  try {
    (void)nlohmann::json(text).dump();
  } catch (const nlohmann::json::exception&) {
    throw YAML::Exception(node.Mark(), "text that is not UTF-8");
  }
  return text;
}

nlohmann::json yaml_to_json(const YAML::Node& node) {
  if (node.IsMap()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& item : node) out[utf8_text(item.first)] = yaml_to_json(item.second);
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
  return utf8_text(node);
}

}  // namespace

YamlDocument load_yaml_file(const std::filesystem::path& path) {
  const auto file = path.string();
  std::ifstream in(path);
  if (!in) throw usage_error(file + ": cannot read the config (check the path)");
  std::stringstream text;
  text << in.rdbuf();
  YamlDocument document;
  document.text = text.str();
  try {
    document.root = yaml_to_json(YAML::Load(document.text));
  } catch (const YAML::Exception& e) {
    throw usage_error(file + ": not valid YAML (" + e.what() + ")");
  }
  return document;
}

OptimizerSchedule read_optimizer_schedule(ConfigSection& top, const OptimizerSchedule& defaults) {
  OptimizerSchedule c = defaults;
  auto optimizer = top.section("optimizer");
  c.optimizer = optimizer.get<std::string>("type", defaults.optimizer);
  if (c.optimizer != "adam" && c.optimizer != "adamw") {
    optimizer.fail_key("type", "must be adam or adamw");
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
