// Shared helpers of the integration tests: where the fetched data is, temporary folders, and
// running the srkit program.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/temp_dir.h"

namespace srkit::testing {

// data/ and models/ as fetched by scripts/setup.sh.
std::filesystem::path data_path(const std::string& relative);
std::filesystem::path model_path(const std::string& relative);

struct CliResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Whether `text` (a program's output) contains `part`.
inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A GoogleTest parameter name for a model at a scale: "esrgan_slim_x2".
std::string case_name(const std::string& model, int64_t scale);

// A file's bytes ("" when it cannot be read).
std::string slurp(const std::filesystem::path& path);

// The records of a training log (srkit train's log.jsonl), in order: every one, or only the
// training steps' (those with a "loss"; not the validation records).
std::vector<nlohmann::json> log_records(const std::filesystem::path& log);
std::vector<nlohmann::json> step_records(const std::filesystem::path& log);

// Runs `srkit <arguments>` (arguments are passed to the shell as written) with optional
// environment assignments prefixed (e.g. "SRKIT_MODELS=/tmp/x").
CliResult run_srkit(const std::string& arguments, const std::string& environment = "");

}  // namespace srkit::testing
