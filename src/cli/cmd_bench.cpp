// srkit bench: a model's speed as a fraction of this machine's own peak, measured in one run.
#include <fmt/format.h>
#include <torch/torch.h>

#include "common.h"
#include "srkit/engine/throughput.h"
#include "srkit/models/registry.h"

namespace srkit::cli {
namespace {

struct BenchArgs {
  std::string model = "esrgan-thick";
  int64_t scale = 4;
  int64_t size = 128;
  int warmup = 2;
  int repeats = 5;
  bool contiguous = false;
  CommonFlags common;
};

nlohmann::json timing_json(const Timing& t) {
  return {{"gflop", t.gflop},
          {"median_seconds", t.median_seconds},
          {"gflops", t.gflops()},
          {"seconds", t.seconds}};
}

int run_bench(const BenchArgs& args) {
  const auto device = apply_runtime(args.common);
  auto model = load_model({args.model, args.scale, 1.0});
  const bool channels_last = !args.contiguous;
  model->prepare(device, channels_last);
  say(args.common,
      fmt::format("benchmarking {} x{} on {}x{} ({} threads, {}) ...", model->card().name,
                  args.scale, args.size, args.size, at::get_num_threads(),
                  channels_last ? "channels-last" : "contiguous"));
  const auto run = measure_model(*model, args.size, device, args.warmup, args.repeats);
  const auto conv = measure_conv_peak(device, args.warmup, args.repeats);
  const auto gemm = measure_gemm_peak(device, 1, std::max(3, args.repeats / 2));
  const double conv_ratio = run.gflops() / conv.gflops();
  if (args.common.json) {
    print_json({{"model", model->card().name},
                {"scale", args.scale},
                {"size", args.size},
                {"threads", at::get_num_threads()},
                {"device", device.str()},
                {"channels_last", channels_last},
                {"model_run", timing_json(run)},
                {"conv_peak", timing_json(conv)},
                {"gemm_peak", timing_json(gemm)},
                {"ratio_to_conv_peak", conv_ratio},
                {"ratio_to_gemm_peak", run.gflops() / gemm.gflops()}});
  } else {
    fmt::print(stderr, "model        {:>8.2f} GFLOP/image  median {:.4f} s  {:>7.1f} GFLOP/s\n",
               run.gflop, run.median_seconds, run.gflops());
    fmt::print(stderr,
               "conv peak    {:>8.2f} GFLOP        median {:.4f} s  {:>7.1f} GFLOP/s "
               "(64->64 3x3 channels-last, 256x256)\n",
               conv.gflop, conv.median_seconds, conv.gflops());
    fmt::print(stderr,
               "gemm peak    {:>8.2f} GFLOP        median {:.4f} s  {:>7.1f} GFLOP/s "
               "(2048^3 fp32)\n",
               gemm.gflop, gemm.median_seconds, gemm.gflops());
    fmt::print(stderr, "ratio        {:.2f} of the conv peak, {:.2f} of the GEMM peak\n",
               conv_ratio, run.gflops() / gemm.gflops());
  }
  return kExitOk;
}

}  // namespace

void register_bench(CLI::App& app, Runner& run) {
  auto args = std::make_shared<BenchArgs>();
  auto* command =
      app.add_subcommand("bench", "measure a model's speed against this machine's peak");
  command->add_option("-m,--model", args->model, "model name")->capture_default_str();
  command->add_option("-s,--scale", args->scale, "native scale")->capture_default_str();
  command->add_option("--size", args->size, "input side in pixels")->capture_default_str();
  command->add_option("--warmup", args->warmup, "untimed runs first")->capture_default_str();
  command->add_option("--repeats", args->repeats, "timed runs (the median is reported)")
      ->capture_default_str();
  command->add_flag("--contiguous", args->contiguous, "run NCHW instead of channels-last");
  add_common_flags(*command, args->common);
  command->callback([args, &run] { run = [args] { return run_bench(*args); }; });
}

}  // namespace srkit::cli
