// libFuzzer target for the model files srkit loads from strangers: a TF.js layers-model's
// model.json with its weight shard (read_tfjs_topology, read_tfjs_weights) and an ncnn .param
// (read_ncnn_model without weights). The input is written as model.json beside a fixed 4 KiB
// shard "w.bin" and as model.param. A reader may refuse an input only with srkit's own Error.
// Built and run by bench/fuzz.sh.
#include <cstdint>
#include <filesystem>
#include <string>

#include <torch/torch.h>

#include "scratch_file.h"
#include "srkit/core/error.h"
#include "srkit/io/ncnn_model.h"
#include "srkit/io/tfjs_model.h"

namespace {

// A folder of this process's own, holding the fixed 4 KiB shard.
const std::filesystem::path& model_folder() {
  static const std::filesystem::path folder = [] {
    std::filesystem::path path = scratch_folder() + "/srkit-fuzz-" + std::to_string(getpid());
    std::filesystem::create_directories(path);
    uint8_t shard[4096];
    for (int i = 0; i < 4096; ++i) shard[i] = static_cast<uint8_t>(i * 37 % 251);
    write_file((path / "w.bin").string(), shard, sizeof shard);
    return path;
  }();
  return folder;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto json = model_folder() / "model.json";
  write_file(json.string(), data, size);
  try {
    const auto model = srkit::read_tfjs_topology(json);
    srkit::read_tfjs_weights(model);
  } catch (const srkit::Error&) {
  }
  const auto param = model_folder() / "model.param";
  write_file(param.string(), data, size);
  try {
    srkit::read_ncnn_model(param, "");
  } catch (const srkit::Error&) {
  }
  return 0;
}
