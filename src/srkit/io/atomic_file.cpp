#include "srkit/io/atomic_file.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <atomic>
#include <string>
#include <system_error>

#include "srkit/core/error.h"

namespace srkit {

namespace {

constexpr const char* kTempMark = ".srkit-tmp-";

// The process id in a temporary file's name (.<stem>.srkit-tmp-<pid>-<n><ext>), or 0.
pid_t temporary_owner(const std::string& name) {
  if (name.empty() || name[0] != '.') return 0;
  const auto mark = name.rfind(kTempMark);
  if (mark == std::string::npos) return 0;
  const auto digits = name.substr(mark + std::char_traits<char>::length(kTempMark));
  const auto dash = digits.find('-');
  if (dash == 0 || dash == std::string::npos) return 0;
  pid_t pid = 0;
  for (size_t i = 0; i < dash; ++i) {
    if (digits[i] < '0' || digits[i] > '9' || pid > 1'000'000'000) return 0;
    pid = pid * 10 + (digits[i] - '0');
  }
  return pid;
}

}  // namespace

int remove_stale_temporaries(const std::filesystem::path& folder) {
  std::error_code error;
  std::filesystem::directory_iterator entries(folder.empty() ? "." : folder, error);
  if (error) return 0;
  int removed = 0;
  for (const auto& entry : entries) {
    const pid_t owner = temporary_owner(entry.path().filename().string());
    if (owner <= 0 || owner == getpid() || !entry.is_regular_file(error)) continue;
    if (kill(owner, 0) == 0 || errno != ESRCH) continue;  // still running (or not ours to ask)
    removed += std::filesystem::remove(entry.path(), error) ? 1 : 0;
  }
  return removed;
}

AtomicOutput::AtomicOutput(const std::filesystem::path& destination) : destination_(destination) {
  static std::atomic<int> counter{0};
  const auto name = "." + destination.stem().string() + kTempMark + std::to_string(getpid()) + "-" +
                    std::to_string(counter++) + destination.extension().string();
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
