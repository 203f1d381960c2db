// The fuzz input as a file, for readers that take a path: one per process and extension, in
// memory when /dev/shm is. Shared by the targets of bench/fuzz.sh.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

// This process's folder for its scratch files (/dev/shm or /tmp), without a trailing slash.
inline std::string scratch_folder() {
  static const std::string folder = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  return folder;
}

// Writes `data` to `path`; aborts the target when it cannot (the machine, not the input, failed).
inline void write_file(const std::string& path, const uint8_t* data, size_t size) {
  FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, file) != size) std::abort();
  std::fclose(file);
}

// Writes the input to this process's scratch file with `extension` and returns its path.
inline std::string scratch_file(const uint8_t* data, size_t size, const std::string& extension) {
  const auto path = scratch_folder() + "/srkit-fuzz-" + std::to_string(getpid()) + extension;
  write_file(path, data, size);
  return path;
}
