#include "srkit/core/resource_paths.h"

#include <dlfcn.h>

#include <cstdlib>
#include <string>

namespace srkit {
namespace {

// The file that holds this code: libsrkit_core.so, or a program srkit was linked into statically.
std::filesystem::path this_binary() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&models_root), &info) == 0 || !info.dli_fname) return {};
  std::error_code error;
  auto path = std::filesystem::canonical(info.dli_fname, error);
  return error ? std::filesystem::path() : path;
}

std::filesystem::path resource_root(const std::string& folder, const char* variable) {
  if (const char* value = std::getenv(variable); value && *value) return value;
  // <prefix>/lib/libsrkit_core.so or <prefix>/bin/srkit -> <prefix>/share/srkit/<folder>
  const auto binary = this_binary();
  const auto installed = binary.empty() ? std::filesystem::path()
                                        : binary.parent_path().parent_path() /
                                              SRKIT_INSTALL_DATADIR / "srkit" / folder;
  std::error_code error;
  if (!installed.empty() && std::filesystem::is_directory(installed, error)) return installed;
  const auto source = std::filesystem::path(SRKIT_SOURCE_DIR) / folder;
  if (std::filesystem::is_directory(source, error)) return source;
  return installed.empty() ? source : installed;
}

}  // namespace

std::filesystem::path models_root() { return resource_root("models", "SRKIT_MODELS"); }
std::filesystem::path data_root() { return resource_root("data", "SRKIT_DATA"); }

}  // namespace srkit
