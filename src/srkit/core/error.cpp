#include "srkit/core/error.h"

namespace srkit {
namespace {

std::string with_fix(std::string message, const std::string& fix) {
  if (!fix.empty()) message += " (" + fix + ")";
  return message;
}

}  // namespace

Error usage_error(const std::string& message) { return Error(ErrorKind::kUsage, message); }

Error setup_error(const std::string& message) { return Error(ErrorKind::kSetup, message); }

Error input_error(const std::string& path, const std::string& problem, const std::string& fix) {
  return Error(ErrorKind::kInput, with_fix(path + ": " + problem, fix));
}

Error output_error(const std::string& path, const std::string& problem, const std::string& fix) {
  return Error(ErrorKind::kOutput, with_fix(path + ": " + problem, fix));
}

}  // namespace srkit
