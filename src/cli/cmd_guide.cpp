// srkit guide: guided super-resolution of a user's files (a depth map with its photo, an MS image
// with its pan, an MR slice with another contrast) with a classical method or a trained MAG-Net;
// --benchmark (guide_benchmark.cpp) runs the same over data/guided (docs/guided.md).
#include <chrono>

#include <fmt/format.h>
#include <torch/torch.h>

#include "flag_checks.h"
#include "guide_flags.h"
#include "srkit/core/runtime.h"
#include "srkit/data/guided_protocol.h"
#include "srkit/engine/batch.h"
#include "srkit/engine/guided_upscale.h"
#include "srkit/io/guided_files.h"
#include "srkit/models/registry.h"

namespace srkit::cli {

ChosenUpscaler choose_upscaler(const GuideArgs& args, GuidedTask task, const ProgressFn& progress) {
  if (!args.model.empty()) {
    std::shared_ptr<Model> model = open_model_file(args.model);
    if (model->card().task != "guided") {
      throw usage_error(
          "--model " + args.model +
          " is a single-image model: run it with "
          "`srkit upscale`, or train a guided one with a magnet config (srkit train)");
    }
    model->prepare(torch::kCPU, prefer_channels_last(torch::kCPU));
    auto counts = std::make_shared<std::vector<torch::Tensor>>();
    auto tiling = args.tiling;
    if (!args.max_memory.empty()) tiling.max_memory = parse_bytes(args.max_memory);
    return {[model, task, counts, tiling, progress](const torch::Tensor& lr,
                                                    const torch::Tensor& guide) {
              return guided_model_upscale(*model, task, lr, guide, counts.get(), tiling, progress);
            },
            std::filesystem::path(args.model).filename().string(), counts};
  }
  const auto method = parse_guided_method(args.method);
  if (method_is_pansharpening_only(method) && task != GuidedTask::kPan) {
    throw usage_error(args.method + " is a pansharpening method: use it with --task pan");
  }
  const auto settings = args.settings;
  return {[method, settings](const torch::Tensor& lr, const torch::Tensor& guide) {
            return classical_guided_upscale(method, lr, guide, settings);
          },
          args.method, nullptr};
}

namespace {

// The guide's grid must be the target's times one integer scale; a guide larger by less than the
// scale (an odd-sized original) is cropped at the bottom and right.
int64_t guided_scale(const GuidedFile& target, torch::Tensor& guide, const GuideArgs& args) {
  const int64_t h = target.values.size(1), w = target.values.size(2);
  const int64_t scale = guide.size(1) / h;
  if (scale < 1 || guide.size(2) / w != scale || guide.size(1) - h * scale >= scale ||
      guide.size(2) - w * scale >= scale) {
    throw input_error(args.guide,
                      fmt::format("is {}x{}, not the target's {}x{} times one integer scale",
                                  guide.size(2), guide.size(1), w, h),
                      "give a guide on the high-resolution grid of " + args.target);
  }
  guide = guide.slice(1, 0, h * scale).slice(2, 0, w * scale).contiguous();
  return scale;
}

int run_on_files(const GuideArgs& args, GuidedTask task) {
  if (args.target.empty() || args.guide.empty() || args.output.empty()) {
    throw usage_error("srkit guide needs --target, --guide and -o (or --benchmark)");
  }
  const std::filesystem::path output(args.output);
  check_destination(args.target, output, args.overwrite);
  check_destination(args.guide, output, args.overwrite);
  const auto upscaler = choose_upscaler(args, task, progress_printer(args.common, args.target));
  const auto target = read_guided_file(args.target, task, true, args.slice);
  const auto guide = read_guided_file(args.guide, task, false, args.slice);
  auto guide_values = guide.values;
  const int64_t scale = guided_scale(target, guide_values, args);
  auto target_values = target.values;
  const int64_t unknown = (~torch::isfinite(target_values)).sum().item<int64_t>();
  if (unknown > 0) target_values = fill_unknown(target_values);
  const auto start = std::chrono::steady_clock::now();
  const auto result = upscaler.run(target_values, guide_values);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  write_guided_result(output, result, target, guide, args.overwrite);
  say(args.common,
      fmt::format("{} + {} -> {} (x{}, {}, {}x{}{})", args.target, args.guide, args.output, scale,
                  upscaler.name, result.size(2), result.size(1),
                  unknown > 0 ? fmt::format("; {} unknown target pixels filled", unknown) : ""));
  if (args.common.json) {
    print_json({{"task", args.task},
                {"method", upscaler.name},
                {"scale", scale},
                {"target", args.target},
                {"guide", args.guide},
                {"output", args.output},
                {"channels", result.size(0)},
                {"height", result.size(1)},
                {"width", result.size(2)},
                {"unknown_filled", unknown},
                {"seconds", seconds}});
  }
  return kExitOk;
}

int run_guide(const GuideArgs& args) {
  apply_runtime(args.common);
  if (args.benchmark) return run_guide_benchmark(args);
  return run_on_files(args, parse_guided_task(args.task));
}

}  // namespace

void register_guide(CLI::App& app, Runner& run) {
  auto args = std::make_shared<GuideArgs>();
  auto* command = app.add_subcommand(
      "guide", "guided SR: upscale a depth map / MS image / MR slice with a high-resolution guide");
  command->add_option("--task", args->task, "depth, pan or mri (--benchmark: also all)")
      ->required();
  command->add_option("--target", args->target,
                      "low-resolution target (depth map, multispectral raster, MR slice)");
  command->add_option("--guide", args->guide,
                      "high-resolution guide (photo, panchromatic band, other MR contrast)");
  command->add_option("-o,--output", args->output, "result: .tif (GeoTIFF), .npy or an image");
  command
      ->add_option("--method", args->method,
                   "bicubic, joint-bilateral, guided-filter, fast-global-smoother, brovey, "
                   "gihs, gram-schmidt")
      ->capture_default_str();
  command->add_option("-m,--model", args->model,
                      "a trained guided model (.srkit from srkit train with a magnet config) "
                      "instead of --method");
  auto& settings = args->settings;
  command
      ->add_option("--spatial", settings.spatial,
                   "joint-bilateral sigma_space / guided-filter radius, in multiples of the scale")
      ->check(positive())
      ->capture_default_str();
  command->add_option("--range", settings.range, "joint-bilateral sigma_color (guide in [0,1])")
      ->check(positive())
      ->capture_default_str();
  command
      ->add_option("--epsilon", settings.epsilon, "guided-filter regularisation (guide in [0,1])")
      ->check(positive())
      ->capture_default_str();
  command
      ->add_option("--lambda", settings.lambda,
                   "fast-global-smoother lambda, in multiples of scale^2")
      ->check(positive())
      ->capture_default_str();
  command
      ->add_option("--sigma-color", settings.sigma_color,
                   "fast-global-smoother sigma_color (8-bit guide levels)")
      ->check(positive())
      ->capture_default_str();
  command
      ->add_option("--tile", args->tiling.tile,
                   "--model: tile side in target pixels (default: whole image when it fits "
                   "--max-memory)")
      ->check(at_least(0));
  command->add_option("--tile-pad", args->tiling.pad, "--model: context around each tile")
      ->check(at_least(0))
      ->capture_default_str();
  command
      ->add_option("--tile-overlap", args->tiling.overlap, "--model: blended overlap between tiles")
      ->check(at_least(0))
      ->capture_default_str();
  command
      ->add_option("--max-memory", args->max_memory,
                   "--model: memory for one pass, e.g. 2G (default: 1/4 of free RAM, at most 4G)")
      ->check(byte_size());
  command->add_option("--slice", args->slice, "NIfTI inputs: AXIS:INDEX (default middle z)");
  command->add_flag("--overwrite", args->overwrite, "replace an existing output");
  command->add_flag("--benchmark", args->benchmark,
                    "run the method over data/guided with the task's protocol and metrics");
  command
      ->add_option("-s,--scale", args->scales,
                   "benchmark scales (default: the task's: depth 4 8 16, pan 4, mri 2 4)")
      ->check(positive());
  command->add_option("--split", args->split, "benchmark split: train, validation or test")
      ->capture_default_str();
  command->add_option("--mri-downsampling", args->mri_downsampling, "kspace or bicubic")
      ->capture_default_str();
  command->add_option("--csv", args->csv, "benchmark: also write every value to this CSV file");
  command->add_option("--usage-plot", args->usage_plot,
                      "benchmark with --model: plot which experts the router picks per task (PNG)");
  add_common_flags(*command, args->common);
  command->callback([args, &run] { run = [args] { return run_guide(*args); }; });
}

}  // namespace srkit::cli
