// srkit degrade HR -o LR --scale N: make low-resolution inputs the way SR benchmarks do (crop to a
// multiple of N, then MATLAB-compatible bicubic downscaling with antialiasing), or the way
// real-world SR training does (--pipeline realesrgan: blur, resize, noise, JPEG, twice).
#include <fmt/format.h>
#include <torch/torch.h>

#include "common.h"
#include "flag_checks.h"
#include "srkit/data/realesrgan_degradation.h"
#include "srkit/engine/batch.h"
#include "srkit/ops/color.h"
#include "srkit/ops/resize.h"

namespace srkit::cli {
namespace {

struct DegradeArgs {
  std::vector<std::string> inputs;
  std::string output;
  int64_t scale = 4;
  bool no_modcrop = false;
  bool overwrite = false;
  bool skip_existing = false;
  std::string format = "png";
  std::string pipeline = "bicubic";
  uint64_t seed = 0;
  int grid = 0;
  CommonFlags common;
};

// The Real-ESRGAN degradation of one image; the seed differs per input (seed + index) so a folder
// gets varied degradations that are the same on every run.
torch::Tensor realesrgan_lr(const torch::Tensor& hr, const DegradeArgs& args, uint64_t seed,
                            nlohmann::json* record) {
  const auto rgb = as_rgb(hr).contiguous();
  static const RealEsrganSettings standard;
  auto lr = realesrgan_degrade(rgb, args.scale, seed, standard, record);
  if (hr.size(0) <= 2) {
    // A gray photo gives a gray input: the pipeline's colour noise is folded into BT.601 luma.
    lr = rgb_to_gray(lr).unsqueeze(0);
  }
  return lr;
}

// K degradations of the same image side by side, each enlarged back to the HR size (nearest) so
// the artefacts stay visible: the inspection view of the pipeline.
torch::Tensor degradation_grid(const torch::Tensor& hr, const DegradeArgs& args) {
  std::vector<torch::Tensor> tiles;
  for (int k = 0; k < args.grid; ++k) {
    const auto lr = realesrgan_lr(hr, args, args.seed + k, nullptr);
    tiles.push_back(lr.repeat_interleave(args.scale, 1).repeat_interleave(args.scale, 2));
  }
  const int columns = std::min(args.grid, 4);
  std::vector<torch::Tensor> rows;
  for (int start = 0; start < args.grid; start += columns) {
    std::vector<torch::Tensor> row(tiles.begin() + start,
                                   tiles.begin() + std::min(args.grid, start + columns));
    while (static_cast<int>(row.size()) < columns) row.push_back(torch::ones_like(tiles[0]));
    rows.push_back(torch::cat(row, 2));
  }
  return torch::cat(rows, 1);
}

int run_degrade(const DegradeArgs& args) {
  apply_runtime(args.common);
  if (args.scale < 2) throw usage_error("--scale must be an integer >= 2");
  if (args.pipeline != "bicubic" && args.pipeline != "realesrgan") {
    throw usage_error("--pipeline " + args.pipeline + ": use bicubic or realesrgan");
  }
  if (args.grid < 0 || (args.grid > 0 && args.pipeline != "realesrgan")) {
    throw usage_error("--grid N shows N samples of --pipeline realesrgan");
  }
  BatchOptions batch;
  batch.output = args.output;
  batch.extension = "." + args.format;
  batch.overwrite = args.overwrite;
  batch.skip_existing = args.skip_existing;
  const FileWork work = [&](const Image& image, size_t index, const ProgressFn&) {
    auto hr = image.pixels;
    if (!args.no_modcrop) {
      hr = hr.slice(1, 0, hr.size(1) / args.scale * args.scale)
               .slice(2, 0, hr.size(2) / args.scale * args.scale);
    }
    if (hr.size(1) < args.scale || hr.size(2) < args.scale) {
      throw input_error(image.origin.string(), "is smaller than the scale factor");
    }
    FileResult out;
    if (args.grid > 0) {
      out.image = degradation_grid(hr, args);
    } else if (args.pipeline == "realesrgan") {
      nlohmann::json record;
      out.image = realesrgan_lr(hr, args, args.seed + index, &record);
      out.facts["degradation"] = record;
    } else {
      out.image = resize_bicubic(hr, 1.0 / static_cast<double>(args.scale)).clamp(0.0, 1.0);
    }
    // Real-ESRGAN's output is 8-bit by construction (JPEG); bicubic keeps the source depth.
    out.bit_depth = args.pipeline == "bicubic" ? image.bit_depth : 8;
    out.facts.update({{"hr_width", hr.size(2)},
                      {"hr_height", hr.size(1)},
                      {"width", out.image.size(2)},
                      {"height", out.image.size(1)}});
    return out;
  };
  BatchEvents events;
  events.file_done = [&](nlohmann::json& record, const Error* failure) {
    if (failure) {
      record["error"] = describe(*failure);
      print_error(describe(*failure));
      return;
    }
    if (record.value("skipped", false)) {
      say(args.common, fmt::format("{} -> {}: exists, skipped", record["input"].get<std::string>(),
                                   record["output"].get<std::string>()));
      return;
    }
    say(args.common, fmt::format("{} -> {} ({}x{})", record["input"].get<std::string>(),
                                 record["output"].get<std::string>(),
                                 record["width"].get<int64_t>(), record["height"].get<int64_t>()));
  };
  const auto report = run_batch(expand_inputs(args.inputs), batch, work, events);
  if (args.common.json) {
    print_json({{"scale", args.scale},
                {"images", report.files},
                {"failed", report.failed},
                {"skipped", report.skipped}});
  }
  return report.failed > 0 ? kExitSomeFailed : kExitOk;
}

}  // namespace

void register_degrade(CLI::App& app, Runner& run) {
  auto args = std::make_shared<DegradeArgs>();
  auto* command = app.add_subcommand(
      "degrade",
      "make LR images: MATLAB-compatible bicubic (benchmarks) or the Real-ESRGAN pipeline");
  command->add_option("inputs", args->inputs, "HR image files or folders")->required();
  command->add_option("-o,--output", args->output, "output file (one input) or folder")->required();
  command->add_option("-s,--scale", args->scale, "integer downscaling factor")
      ->check(at_least(1))
      ->capture_default_str();
  command->add_flag("--no-modcrop", args->no_modcrop,
                    "do not crop HR to a multiple of the scale first (LR size is then ceil(HR/N))");
  command->add_option("--format", args->format, "output extension for folders")
      ->capture_default_str();
  command
      ->add_option("--pipeline", args->pipeline,
                   "bicubic (benchmarks) or realesrgan (second-order real-world degradation)")
      ->capture_default_str();
  command
      ->add_option("--seed", args->seed,
                   "realesrgan: seed of the first input (the next inputs use seed+1, ...)")
      ->capture_default_str();
  command
      ->add_option("--grid", args->grid,
                   "realesrgan: write N samples of each input side by side (inspection)")
      ->check(at_least(0));
  command->add_flag("--overwrite", args->overwrite, "replace existing outputs");
  command
      ->add_flag("--skip-existing", args->skip_existing,
                 "skip inputs whose outputs exist (finish an interrupted batch)")
      ->excludes("--overwrite");
  add_common_flags(*command, args->common);
  command->callback([args, &run] { run = [args] { return run_degrade(*args); }; });
}

}  // namespace srkit::cli
