// libFuzzer target for the settings files srkit reads from users and strangers: a calibration file
// of `srkit calibrate` (load_calibration, then a threshold asked of it, as `srkit upscale
// --calibration` does) and a training config (read_train_config: YAML through yaml-cpp, its
// sections and ranges). A reader may refuse an input only with srkit's own Error. Built and run
// by bench/fuzz.sh.
#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "scratch_file.h"
#include "srkit/conformal/calibration_file.h"
#include "srkit/core/error.h"
#include "srkit/train/train_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto calibration = srkit::conformal::load_calibration(scratch_file(data, size, ".json"));
    for (const double alpha : {0.05, 0.1, 1.0, 3.0})
      srkit::conformal::threshold(calibration, alpha);
  } catch (const srkit::Error&) {
  }
  try {
    srkit::read_train_config(scratch_file(data, size, ".yaml"));
  } catch (const srkit::Error&) {
  }
  return 0;
}
