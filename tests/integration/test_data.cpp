#include "test_data.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace srkit::testing {
std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<nlohmann::json> log_records(const std::filesystem::path& log) {
  std::ifstream in(log);
  std::vector<nlohmann::json> records;
  std::string line;
  while (std::getline(in, line)) records.push_back(nlohmann::json::parse(line));
  return records;
}

std::vector<nlohmann::json> step_records(const std::filesystem::path& log) {
  std::vector<nlohmann::json> steps;
  for (auto& record : log_records(log)) {
    if (record.contains("loss")) steps.push_back(std::move(record));
  }
  return steps;
}

std::filesystem::path data_path(const std::string& relative) {
  const auto path = std::filesystem::path(SRKIT_SOURCE_DIR) / "data" / relative;
  EXPECT_TRUE(std::filesystem::exists(path)) << path << " is missing: run scripts/setup.sh";
  return path;
}

std::filesystem::path model_path(const std::string& relative) {
  const auto path = std::filesystem::path(SRKIT_SOURCE_DIR) / "models" / relative;
  EXPECT_TRUE(std::filesystem::exists(path)) << path << " is missing: run scripts/setup.sh";
  return path;
}

std::string case_name(const std::string& model, int64_t scale) {
  auto name = model + "_x" + std::to_string(scale);
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

CliResult run_srkit(const std::string& arguments, const std::string& environment) {
  TempDir capture;
  const auto out = capture / "stdout", err = capture / "stderr";
  const std::string command = environment + " " + SRKIT_BINARY + " " + arguments + " >" +
                              out.string() + " 2>" + err.string() + " </dev/null";
  const int status = std::system(command.c_str());
  CliResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = slurp(out);
  result.err = slurp(err);
  return result;
}

}  // namespace srkit::testing
