// srkit: one verb per job. `srkit --help` lists them; `srkit VERB --help` explains one.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include <c10/util/Exception.h>
#include <CLI/CLI.hpp>

#include "common.h"
#include "srkit/core/runtime.h"

namespace {

// Large tensors on a fresh page cost a page fault per 4 KiB, which on this project's VMs is slower
// than the small models' arithmetic. glibc backs its memory with transparent huge pages when the
// tunable below is set, which must happen before the process starts: srkit restarts itself once
// with it (esrgan-medium x4 on a 512x512 photo as one tile: 6.1 s -> 3.4 s,
// bench/run_benchmarks.sh).
void restart_with_huge_pages(char** argv) {
  const char* current = std::getenv("GLIBC_TUNABLES");
  const std::string tunables = current ? current : "";
  if (tunables.find("glibc.malloc.hugetlb") != std::string::npos) return;
  const std::string updated = (tunables.empty() ? "" : tunables + ":") + "glibc.malloc.hugetlb=1";
  setenv("GLIBC_TUNABLES", updated.c_str(), 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then run as we are
}

}  // namespace

int main(int argc, char** argv) {
  using namespace srkit::cli;
  restart_with_huge_pages(argv);
  CLI::App app{
      "srkit: super-resolution toolkit (upscale, evaluate, degrade, benchmark, confidence masks, "
      "train)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "srkit 0.1.0");
  Runner run;
  register_upscale(app, run);
  register_eval(app, run);
  register_degrade(app, run);
  register_models(app, run);
  register_bench(app, run);
  register_calibrate(app, run);
  register_conformal_eval(app, run);
  register_train(app, run);
  register_guide(app, run);
  register_serve(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  install_interrupt_handler();
  srkit::keep_freed_memory();
  try {
    return run();
  } catch (const srkit::Error& e) {
    print_error(describe(e));
    if (e.kind() == srkit::ErrorKind::kCancelled) return kExitInterrupted;
    return e.kind() == srkit::ErrorKind::kUsage || e.kind() == srkit::ErrorKind::kSetup
               ? kExitUsage
               : kExitSomeFailed;
  } catch (const c10::Error& e) {
    print_error(std::string("internal error in LibTorch: ") + e.what_without_backtrace());
    return kExitUsage;
  } catch (const std::exception& e) {
    print_error(e.what());
    return kExitUsage;
  }
}
