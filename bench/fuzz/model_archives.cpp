// libFuzzer target for srkit's own model files (.srkit, open_model_file: the Model and its card): a
// zip archive (read by Debian's libzip, not instrumented) of a JSON description, whose network
// config srkit reads (make_network: the sizes it would allocate are checked before any weight is
// read), and .npy weights read against the network's shapes. LibTorch archives (versions 1-2) are
// refused before LibTorch reads them. A reader may refuse an input only with srkit's own Error.
// With SRKIT_FUZZ_WRITE_SEEDS=FOLDER the target writes its seeds there (small compact and RDN
// models saved by srkit itself) and exits. Built and run by bench/fuzz.sh.
#include <cstdint>
#include <cstdlib>
#include <filesystem>

#include <torch/torch.h>

#include "scratch_file.h"
#include "srkit/core/error.h"
#include "srkit/models/model_file.h"
#include "srkit/models/registry.h"
#include "srkit/nn/network.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* folder = std::getenv("SRKIT_FUZZ_WRITE_SEEDS")) {
    torch::manual_seed(1);
    const std::filesystem::path dir(folder);
    auto compact = srkit::make_network(
        {{"architecture", "compact"}, {"scale", 2}, {"features", 4}, {"convs", 1}});
    srkit::save_model_file(dir / "compact_x2.srkit", *compact, {{"name", "compact_x2"}});
    auto rdn = srkit::make_network(
        {{"architecture", "rdn"}, {"scale", 2}, {"blocks", 1}, {"growth", 4}, {"features", 4}});
    srkit::save_model_file(dir / "rdn_x2.srkit", *rdn, {{"name", "rdn_x2"}});
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    srkit::open_model_file(scratch_file(data, size, ".srkit"));  // as srkit upscale --model
  } catch (const srkit::Error&) {
  }
  return 0;
}
