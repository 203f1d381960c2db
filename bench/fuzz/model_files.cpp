// libFuzzer target for the model files srkit loads from strangers: a TF.js layers-model's
// model.json with its weight shard (read_tfjs_topology, read_tfjs_weights) and an ncnn .param
// (read_ncnn_model without weights). The input is written as model.json beside a fixed 4 KiB
// shard "w.bin" and as model.param. A reader may refuse an input only with srkit's own Error.
// Built and run by bench/fuzz.sh.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/io/ncnn_model.h"
#include "srkit/io/tfjs_model.h"

namespace {

// A folder of this process's own, holding the fixed shard. In memory when /dev/shm is.
const std::filesystem::path& scratch_folder() {
  static const std::filesystem::path folder = [] {
    const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    std::filesystem::path path = std::string(dir) + "/srkit-fuzz-" + std::to_string(getpid());
    std::filesystem::create_directories(path);
    FILE* shard = std::fopen((path / "w.bin").c_str(), "wb");
    if (!shard) std::abort();
    for (int i = 0; i < 4096; ++i) std::fputc(i * 37 % 251, shard);
    std::fclose(shard);
    return path;
  }();
  return folder;
}

void write(const std::filesystem::path& path, const uint8_t* data, size_t size) {
  FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, file) != size) std::abort();
  std::fclose(file);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto json = scratch_folder() / "model.json";
  write(json, data, size);
  try {
    const auto model = srkit::read_tfjs_topology(json);
    srkit::read_tfjs_weights(model);
  } catch (const srkit::Error&) {
  }
  const auto param = scratch_folder() / "model.param";
  write(param, data, size);
  try {
    srkit::read_ncnn_model(param, "");
  } catch (const srkit::Error&) {
  }
  return 0;
}
