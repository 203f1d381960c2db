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
