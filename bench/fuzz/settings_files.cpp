// libFuzzer target for the settings files srkit reads from users and strangers: a calibration file
// of `srkit calibrate` (load_calibration, then a threshold asked of it, as `srkit upscale
// --calibration` does) and a training config (read_train_config: YAML through yaml-cpp, its
// sections and ranges). A reader may refuse an input only with srkit's own Error. Built and run
// by bench/fuzz.sh.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <torch/torch.h>

#include "srkit/conformal/calibration_file.h"
#include "srkit/core/error.h"
#include "srkit/train/train_config.h"

namespace {

std::string scratch(const uint8_t* data, size_t size, const char* extension) {
  const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  const auto path = std::string(dir) + "/srkit-fuzz-" + std::to_string(getpid()) + extension;
  FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, file) != size) std::abort();
  std::fclose(file);
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto calibration = srkit::conformal::load_calibration(scratch(data, size, ".json"));
    for (const double alpha : {0.05, 0.1, 1.0, 3.0}) srkit::conformal::threshold(calibration, alpha);
  } catch (const srkit::Error&) {
  }
  try {
    srkit::read_train_config(scratch(data, size, ".yaml"));
  } catch (const srkit::Error&) {
  }
  return 0;
}
