#include "srkit/core/error.h"

namespace srkit {
namespace {

// Replaces every {{name}} of `text` by spell(name).
std::string render(const std::string& text,
                   const std::function<std::string(const std::string&)>& spell) {
  std::string out;
  size_t at = 0;
  for (;;) {
    const size_t open = text.find("{{", at);
    const size_t close = open == std::string::npos ? open : text.find("}}", open + 2);
    if (close == std::string::npos) break;
    out += text.substr(at, open - at);
    out += spell(text.substr(open + 2, close - open - 2));
    at = close + 2;
  }
  return out + text.substr(at);
}

std::string with_fix(std::string message, const std::string& fix) {
  if (!fix.empty()) message += " (" + fix + ")";
  return message;
}

}  // namespace

Error::Error(ErrorKind kind, const std::string& message)
    : std::runtime_error(render(message, [](const std::string& name) { return name; })),
      kind_(kind),
      template_(message) {}

std::string Error::message(const std::function<std::string(const std::string&)>& spell) const {
  return render(template_, spell);
}

Error usage_error(const std::string& message) { return Error(ErrorKind::kUsage, message); }

Error setup_error(const std::string& message) { return Error(ErrorKind::kSetup, message); }

Error input_error(const std::string& path, const std::string& problem, const std::string& fix) {
  return Error(ErrorKind::kInput, with_fix(path + ": " + problem, fix));
}

Error output_error(const std::string& path, const std::string& problem, const std::string& fix) {
  return Error(ErrorKind::kOutput, with_fix(path + ": " + problem, fix));
}

}  // namespace srkit
