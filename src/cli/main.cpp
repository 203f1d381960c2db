// srkit: one verb per job. `srkit --help` lists them; `srkit VERB --help` explains one.
#include <iostream>

#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>

#include "common.h"
#include "srkit/core/runtime.h"

int main(int argc, char** argv) {
  using namespace srkit::cli;
  CLI::App app{"srkit: super-resolution toolkit (upscale, evaluate, degrade, benchmark)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "srkit 0.1.0");
  Runner run;
  register_upscale(app, run);
  register_eval(app, run);
  register_degrade(app, run);
  register_models(app, run);
  register_bench(app, run);
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
    print_error(e.what());
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
