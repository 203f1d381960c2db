// Errors that reach a user. Each names the file or argument at fault and says how to fix it.
#pragma once

#include <stdexcept>
#include <string>

namespace srkit {

// What kind of failure, which decides the program's exit code (DESIGN.md: 0 success, 1 some
// inputs failed, 2 usage or setup error).
enum class ErrorKind {
  kUsage,      // bad arguments: fix the command line
  kSetup,      // missing or corrupt models/data: run scripts/setup.sh
  kInput,      // one input file cannot be used; a batch goes on with the others
  kOutput,     // one output cannot be written
  kCancelled,  // the user interrupted the work
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// Convenience constructors so call sites read as sentences.
Error usage_error(const std::string& message);
Error setup_error(const std::string& message);
Error input_error(const std::string& path, const std::string& problem, const std::string& fix = "");
Error output_error(const std::string& path, const std::string& problem,
                   const std::string& fix = "");

}  // namespace srkit
