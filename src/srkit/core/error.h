// Errors that reach a user. Each names the file or argument at fault and says how to fix it.
#pragma once

#include <functional>
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

// A message names the option at fault, or the one that fixes it, as {{name}}: a field of an
// options struct ("{{ScoreOptions::kernel}}") or an argument ("{{model}}"). what() shows the
// name; a program shows its own spelling of it, such as a command-line flag (message()).
class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message);
  ErrorKind kind() const { return kind_; }
  // The message with every {{name}} replaced by spell(name).
  std::string message(const std::function<std::string(const std::string& name)>& spell) const;

 private:
  ErrorKind kind_;
  std::string template_;
};

// Convenience constructors so call sites read as sentences.
Error usage_error(const std::string& message);
Error setup_error(const std::string& message);
Error input_error(const std::string& path, const std::string& problem, const std::string& fix = "");
Error output_error(const std::string& path, const std::string& problem,
                   const std::string& fix = "");

}  // namespace srkit
