// Strict YAML reading for srkit's configs: a mapping whose keys are checked as they are read, so
// an unknown or misspelt key is an error naming the file and the key; and the reader of the
// optimiser and schedule settings every training config shares (run_settings.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "srkit/core/error.h"
#include "srkit/train/run_settings.h"

namespace srkit {

class YamlSection {
 public:
  YamlSection(const YAML::Node& node, std::string path, std::string file);
  bool has(const std::string& key);
  YAML::Node node(const std::string& key);
  YamlSection section(const std::string& key);

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
  double number(const std::string& key, double fallback, double low, double high);
  int64_t integer(const std::string& key, int64_t fallback, int64_t low, int64_t high);
  // Rejects the keys that were never read.
  void finish() const;
  [[noreturn]] void fail(const std::string& problem) const;
  const std::string& file() const { return file_; }

 private:
  std::string where(const std::string& key) const;
  YAML::Node node_;
  std::string path_, file_;
  std::set<std::string> known_;
};

// A config file's text and its parsed root; a usage Error naming the file when it cannot be read
// or is not YAML.
struct YamlDocument {
  std::string text;
  YAML::Node root;
};
YamlDocument load_yaml_file(const std::filesystem::path& path);

// YAML scalars to JSON numbers, booleans or strings; mappings and sequences recursively.
nlohmann::json yaml_to_json(const YAML::Node& node);

// Reads the two sections of `top`; `defaults` gives the values of absent keys.
OptimizerSchedule read_optimizer_schedule(YamlSection& top, const OptimizerSchedule& defaults);

}  // namespace srkit
