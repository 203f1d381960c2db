// Strict reading of srkit's configs, whatever their syntax: YAML training configs (read into JSON
// by train/yaml_config.h), the network configs inside model files, JSON given by a caller. A
// section is a mapping whose keys are checked as they are read, so an unknown or misspelt key, a
// wrong type or a value out of range is a usage Error naming the source and the key.
//
//   srkit::ConfigSection top(json, "", "configs/x.yaml");
//   auto steps = top.section("schedule").integer("steps", 1000, 1, INT64_MAX);
//   top.finish();   // an error for every key nobody read
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "srkit/core/error.h"

namespace srkit {

class ConfigSection {
 public:
  // `node`: a JSON object, or null for an absent section. `path`: where it sits ("data",
  // "loss[0]"; "" = the top). `source`: what errors name first (a file, "network config").
  ConfigSection(nlohmann::json node, std::string path, std::string source);

  bool has(const std::string& key);
  // The raw value (null when absent); marks the key as read.
  const nlohmann::json& value(const std::string& key);
  ConfigSection section(const std::string& key);

  template <typename T>
  T get(const std::string& key, T fallback) {
    if (!has(key)) return fallback;
    const auto& v = node_.at(key);
    if constexpr (std::is_same_v<T, std::string>) {
      if (v.is_string()) return v.get<std::string>();
      if (v.is_primitive() && !v.is_null()) return v.dump();  // YAML's `name: 123`
    } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      if (v.is_number_integer()) return v.get<T>();
    } else {
      try {
        return v.get<T>();
      } catch (const nlohmann::json::exception&) {
      }
    }
    fail_key(key, "has the wrong type (" + v.dump() + ")");
  }
  template <typename T>
  T required(const std::string& key) {
    if (!has(key)) fail_key(key, "is required");
    return get<T>(key, T());
  }
  double number(const std::string& key, double fallback, double low, double high);
  int64_t integer(const std::string& key, int64_t fallback, int64_t low, int64_t high);

  // Rejects the keys that were never read.
  void finish() const;
  [[noreturn]] void fail(const std::string& problem) const;
  [[noreturn]] void fail_key(const std::string& key, const std::string& problem) const;
  const std::string& source() const { return source_; }
  // "data.patch" for key "patch" of section "data".
  std::string where(const std::string& key) const;

 private:
  nlohmann::json node_;
  std::string path_, source_;
  std::set<std::string> known_;
};

}  // namespace srkit
