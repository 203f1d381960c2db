// srkit degrade HR -o LR --scale N: make low-resolution inputs the way SR benchmarks do
// (crop to a multiple of N, then MATLAB-compatible bicubic downscaling with antialiasing).
#include <fmt/format.h>
#include <torch/torch.h>

#include "common.h"
#include "srkit/io/image_io.h"
#include "srkit/ops/resize.h"

namespace srkit::cli {
namespace {

struct DegradeArgs {
  std::vector<std::string> inputs;
  std::string output;
  int64_t scale = 4;
  bool no_modcrop = false;
  bool overwrite = false;
  std::string format = "png";
  CommonFlags common;
};

int run_degrade(const DegradeArgs& args) {
  apply_runtime(args.common);
  if (args.scale < 2) throw usage_error("--scale must be an integer >= 2");
  const auto files = expand_inputs(args.inputs);
  if (files.empty()) throw usage_error("no image files found in the inputs");
  const std::filesystem::path output(args.output);
  const bool output_is_file = prepare_output(files, args.output);

  nlohmann::json results = nlohmann::json::array();
  int failed = 0;
  for (const auto& input : files) {
    const auto destination =
        output_is_file ? output : output / (input.stem().string() + "." + args.format);
    nlohmann::json result = {{"input", input.string()}, {"output", destination.string()}};
    try {
      check_destination(input, destination, args.overwrite);
      const auto image = read_image(input);
      auto hr = image.pixels;
      if (!args.no_modcrop) {
        hr = hr.slice(1, 0, hr.size(1) / args.scale * args.scale)
                 .slice(2, 0, hr.size(2) / args.scale * args.scale);
      }
      if (hr.size(1) < args.scale || hr.size(2) < args.scale) {
        throw input_error(input.string(), "is smaller than the scale factor");
      }
      const auto lr = resize_bicubic(hr, 1.0 / static_cast<double>(args.scale)).clamp(0.0, 1.0);
      write_image(destination, lr, image.bit_depth, {args.overwrite});
      result.update({{"ok", true},
                     {"hr_width", hr.size(2)},
                     {"hr_height", hr.size(1)},
                     {"width", lr.size(2)},
                     {"height", lr.size(1)}});
      say(args.common, fmt::format("{} -> {} ({}x{})", input.string(), destination.string(),
                                   lr.size(2), lr.size(1)));
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::kUsage || e.kind() == ErrorKind::kSetup) throw;
      ++failed;
      print_error(e.what());
      result.update({{"ok", false}, {"error", e.what()}});
    }
    results.push_back(result);
  }
  if (args.common.json)
    print_json({{"scale", args.scale}, {"images", results}, {"failed", failed}});
  return failed > 0 ? kExitSomeFailed : kExitOk;
}

}  // namespace

void register_degrade(CLI::App& app, Runner& run) {
  auto args = std::make_shared<DegradeArgs>();
  auto* command = app.add_subcommand(
      "degrade", "downscale HR images with MATLAB-compatible bicubic (the SR benchmark protocol)");
  command->add_option("inputs", args->inputs, "HR image files or folders")->required();
  command->add_option("-o,--output", args->output, "output file (one input) or folder")->required();
  command->add_option("-s,--scale", args->scale, "integer downscaling factor")
      ->capture_default_str();
  command->add_flag("--no-modcrop", args->no_modcrop,
                    "do not crop HR to a multiple of the scale first (LR size is then ceil(HR/N))");
  command->add_option("--format", args->format, "output extension for folders")
      ->capture_default_str();
  command->add_flag("--overwrite", args->overwrite, "replace existing outputs");
  add_common_flags(*command, args->common);
  command->callback([args, &run] { run = [args] { return run_degrade(*args); }; });
}

}  // namespace srkit::cli
