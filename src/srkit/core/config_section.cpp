#include "srkit/core/config_section.h"

#include <utility>

namespace srkit {

ConfigSection::ConfigSection(nlohmann::json node, std::string path, std::string source)
    : node_(std::move(node)), path_(std::move(path)), source_(std::move(source)) {
  if (!node_.is_null() && !node_.is_object()) fail("must be a mapping of keys");
}

bool ConfigSection::has(const std::string& key) {
  known_.insert(key);
  return node_.is_object() && node_.contains(key) && !node_.at(key).is_null();
}

const nlohmann::json& ConfigSection::value(const std::string& key) {
  static const nlohmann::json kAbsent;
  return has(key) ? node_.at(key) : kAbsent;
}

ConfigSection ConfigSection::section(const std::string& key) {
  return ConfigSection(value(key), where(key), source_);
}

double ConfigSection::number(const std::string& key, double fallback, double low, double high) {
  const auto v = get<double>(key, fallback);
  if (!(v >= low && v <= high)) {
    fail_key(key, "must be from " + std::to_string(low) + " to " + std::to_string(high) + ", got " +
                      std::to_string(v));
  }
  return v;
}

int64_t ConfigSection::integer(const std::string& key, int64_t fallback, int64_t low,
                               int64_t high) {
  const auto v = get<int64_t>(key, fallback);
  if (v < low || v > high) {
    fail_key(key, "must be an integer from " + std::to_string(low) + " to " + std::to_string(high) +
                      ", got " + std::to_string(v));
  }
  return v;
}

void ConfigSection::finish() const {
  if (!node_.is_object()) return;
  for (const auto& [key, value] : node_.items()) {
    if (!known_.count(key)) throw usage_error(source_ + ": unknown key '" + where(key) + "'");
  }
}

void ConfigSection::fail(const std::string& problem) const {
  throw usage_error(source_ + ": " + (path_.empty() ? "the config" : "'" + path_ + "'") + " " +
                    problem);
}

void ConfigSection::fail_key(const std::string& key, const std::string& problem) const {
  throw usage_error(source_ + ": '" + where(key) + "' " + problem);
}

std::string ConfigSection::where(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

}  // namespace srkit
