#include "srkit/io/atomic_file.h"

#include <unistd.h>

#include <atomic>
#include <string>
#include <system_error>

#include "srkit/core/error.h"

namespace srkit {

AtomicOutput::AtomicOutput(const std::filesystem::path& destination) : destination_(destination) {
  static std::atomic<int> counter{0};
  const auto name = "." + destination.stem().string() + ".srkit-tmp-" + std::to_string(getpid()) +
                    "-" + std::to_string(counter++) + destination.extension().string();
  temp_ = destination.parent_path() / name;
}

AtomicOutput::~AtomicOutput() {
  if (!committed_) {
    std::error_code ignored;
    std::filesystem::remove(temp_, ignored);
  }
}

void AtomicOutput::commit() {
  std::error_code error;
  std::filesystem::rename(temp_, destination_, error);
  if (error) {
    throw output_error(destination_.string(), "cannot be written: " + error.message(),
                       "check that the folder is writable and the disk has space");
  }
  committed_ = true;
}

}  // namespace srkit
