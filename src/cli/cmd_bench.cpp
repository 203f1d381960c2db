// srkit bench: a model's speed as a fraction of this machine's own peak, measured in one run.
#include <chrono>

#include <fmt/format.h>
#include <torch/torch.h>

#include "common.h"
#include "flag_checks.h"
#include "srkit/conformal/calibration_benchmark.h"
#include "srkit/core/runtime.h"
#include "srkit/engine/throughput.h"
#include "srkit/engine/upscale.h"
#include "srkit/models/registry.h"

namespace srkit::cli {
namespace {

struct BenchArgs {
  std::string model = "esrgan-thick";
  int64_t scale = 4;
  int64_t size = 128;
  int warmup = 2;
  int repeats = 5;
  std::string layout = "auto";
  std::string precision = "fp32";
  bool calibration = false;
  int64_t images = 100;
  int64_t map_size = 2048;
  CommonFlags common;
};

nlohmann::json timing_json(const Timing& t) {
  return {{"gflop", t.gflop},
          {"median_seconds", t.median_seconds},
          {"gflops", t.gflops()},
          {"seconds", t.seconds}};
}

// Calibration throughput (seed 003): maps per second through the staircases and the sweep, the
// speed-up over the brute-force oracle, and the time the model needs to produce one such map.
int run_calibration_bench(const BenchArgs& args) {
  const auto device = apply_runtime(args.common);
  nlohmann::json maps = nlohmann::json::array();
  say(args.common, fmt::format("calibration on {} maps of {}x{} ({} threads) ...", args.images,
                               args.map_size, args.map_size, at::get_num_threads()));
  double smooth_seconds_per_image = 0;
  for (const char* kind : {"smooth", "independent"}) {
    const auto b = conformal::benchmark_calibration(kind, args.images, args.map_size);
    const double per_image = (b.staircase_seconds + b.sweep_seconds) / b.images;
    if (std::string(kind) == "smooth") smooth_seconds_per_image = per_image;
    maps.push_back({{"maps", kind},
                    {"megapixels_per_second", b.megapixels_per_second()},
                    {"staircase_seconds", b.staircase_seconds},
                    {"sweep_seconds", b.sweep_seconds},
                    {"mean_steps_per_image", b.mean_steps}});
    say(args.common,
        fmt::format("{:>12} maps: {:>7.1f} Mpx/s (staircases {:.2f} s, sweep {:.4f} s, "
                    "{:.0f} steps per image)",
                    kind, b.megapixels_per_second(), b.staircase_seconds, b.sweep_seconds,
                    b.mean_steps));
  }
  nlohmann::json oracle = nlohmann::json::array();
  for (const auto& [n, d] : {std::pair<int64_t, int64_t>{4, 64}, {8, 128}, {16, 256}, {32, 512}}) {
    const auto c = conformal::compare_with_oracle(n, d);
    oracle.push_back({{"images", n},
                      {"pixels", d},
                      {"fast_seconds", c.fast_seconds},
                      {"brute_force_seconds", c.brute_force_seconds},
                      {"speedup", c.brute_force_seconds / c.fast_seconds},
                      {"identical_thresholds", c.agree}});
    say(args.common,
        fmt::format("oracle n={:>2} d={:>3}: brute force {:.4f} s, fast {:.2e} s, "
                    "x{:.0f}, thresholds {}",
                    n, d, c.brute_force_seconds, c.fast_seconds,
                    c.brute_force_seconds / c.fast_seconds, c.agree ? "identical" : "DIFFER"));
  }
  // The model producing one map of this size: the default model (x2) once on an LR of half the
  // side; calibration runs it once per ensemble sample (8 by default).
  auto model = load_model({"default", 2, 1.0});
  model->prepare(device, prefer_channels_last(device));
  const auto lr = torch::rand({3, args.map_size / 2, args.map_size / 2});
  const auto start = std::chrono::steady_clock::now();
  upscale(*model, lr.to(device), UpscaleOptions{});
  const double model_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double ratio = smooth_seconds_per_image / model_seconds;
  say(args.common, fmt::format("default model, one pass to {}x{}: {:.2f} s; calibration per map "
                               "is {:.3f} of one model pass",
                               args.map_size, args.map_size, model_seconds, ratio));
  if (args.common.json) {
    print_json({{"images", args.images},
                {"map_side", args.map_size},
                {"threads", at::get_num_threads()},
                {"calibration", maps},
                {"oracle", oracle},
                {"model_pass_seconds", model_seconds},
                {"calibration_per_map_over_model_pass", ratio}});
  }
  return kExitOk;
}

int run_bench(const BenchArgs& args) {
  if (args.calibration) return run_calibration_bench(args);
  const auto device = apply_runtime(args.common);
  auto model = load_model({args.model, args.scale, 1.0});
  const bool bfloat16 = args.precision == "bf16" && fast_bfloat16(device);
  if (args.precision == "bf16" && !bfloat16) {
    say(args.common,
        "note: --precision bf16: this CPU has neither AVX512-BF16 nor AMX (bf16 "
        "would be emulated): measuring fp32");
  }
  // auto is what `srkit upscale` runs: channels-last for bf16, else the CPU's (runtime.h).
  const bool channels_last = args.layout == "auto" ? bfloat16 || prefer_channels_last(device)
                                                   : args.layout == "channels-last";
  model->prepare(device, channels_last);
  const std::string precision = bfloat16 ? "bf16" : "fp32";
  if (bfloat16) model->set_precision(torch::kBFloat16);
  say(args.common,
      fmt::format("benchmarking {} x{} on {}x{} ({} threads, {}) ...", model->card().name,
                  args.scale, args.size, args.size, at::get_num_threads(),
                  channels_last ? "channels-last" : "contiguous"));
  const auto run = measure_model(*model, args.size, device, args.warmup, args.repeats);
  const auto conv = measure_conv_peak(device, channels_last, args.warmup, args.repeats);
  const auto gemm = measure_gemm_peak(device, 1, std::max(3, args.repeats / 2));
  const double conv_ratio = run.gflops() / conv.gflops();
  if (args.common.json) {
    print_json({{"model", model->card().name},
                {"scale", args.scale},
                {"size", args.size},
                {"threads", at::get_num_threads()},
                {"device", device.str()},
                {"channels_last", channels_last},
                {"precision", precision},
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
               "(64->64 3x3 {}, 256x256)\n",
               conv.gflop, conv.median_seconds, conv.gflops(),
               channels_last ? "channels-last" : "contiguous");
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
  auto* command = app.add_subcommand(
      "bench", "measure a model's speed against this machine's peak, or calibration speed");
  command->add_option("-m,--model", args->model, "model name")->capture_default_str();
  command->add_option("-s,--scale", args->scale, "native scale")
      ->check(positive())
      ->capture_default_str();
  command->add_option("--size", args->size, "input side in pixels")
      ->check(at_least(1))
      ->capture_default_str();
  command->add_option("--warmup", args->warmup, "untimed runs first")
      ->check(at_least(0))
      ->capture_default_str();
  command->add_option("--repeats", args->repeats, "timed runs (the median is reported)")
      ->check(at_least(1))
      ->capture_default_str();
  command
      ->add_option("--layout", args->layout,
                   "memory layout: auto (as srkit upscale chooses), channels-last or "
                   "contiguous (NCHW); the conv peak is measured in the same layout")
      ->check(CLI::IsMember({"auto", "channels-last", "contiguous"}))
      ->capture_default_str();
  command->add_option("--precision", args->precision, "fp32, or bf16 where the CPU runs it fast")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->capture_default_str();
  command->add_flag("--calibration", args->calibration,
                    "measure conformal calibration instead (maps/s, oracle speed-up)");
  command->add_option("--images", args->images, "calibration: number of maps")
      ->check(at_least(1))
      ->capture_default_str();
  command->add_option("--map-size", args->map_size, "calibration: map side in pixels")
      ->check(at_least(1))
      ->capture_default_str();
  add_common_flags(*command, args->common);
  command->callback([args, &run] { run = [args] { return run_bench(*args); }; });
}

}  // namespace srkit::cli
