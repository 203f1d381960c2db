// srkit upscale INPUT... -o OUTPUT: upscale image files or folders with a pretrained model.
#include <chrono>
#include <cmath>

#include <fmt/format.h>
#include <torch/torch.h>

#include "common.h"
#include "srkit/engine/upscale.h"
#include "srkit/io/image_io.h"
#include "srkit/models/registry.h"

namespace srkit::cli {
namespace {

struct UpscaleArgs {
  std::vector<std::string> inputs;
  std::string output;
  std::string model = "default";
  double scale = 0;
  int64_t tile = 0;
  int64_t tile_pad = -1;
  int64_t tile_overlap = 8;
  std::string max_memory;
  std::string alpha = "bicubic";
  std::string format;
  double model_range = 1.0;
  bool overwrite = false;
  CommonFlags common;
};

std::filesystem::path output_for(const std::filesystem::path& input, const UpscaleArgs& args,
                                 bool output_is_file) {
  if (output_is_file) return args.output;
  const auto ext = args.format.empty() ? input.extension().string() : "." + args.format;
  return std::filesystem::path(args.output) / (input.stem().string() + ext);
}

double default_scale(const std::vector<int64_t>& offered) {
  if (offered.size() == 1) return static_cast<double>(offered.front());
  return std::find(offered.begin(), offered.end(), 4) != offered.end()
             ? 4.0
             : static_cast<double>(offered.front());
}

int run_upscale(const UpscaleArgs& args) {
  const auto device = apply_runtime(args.common);
  const auto offered = offered_scales(args.model);
  const double wanted = args.scale > 0 ? args.scale : default_scale(offered);
  if (wanted <= 0 || wanted > 32) throw usage_error("--scale must be in (0, 32]");
  const int64_t native = choose_native_scale(offered, wanted);

  auto model = load_model({args.model, native, args.model_range});
  model->prepare(device, /*channels_last=*/device.is_cpu());
  if (static_cast<double>(native) != wanted) {
    say(args.common, fmt::format("note: {} has no x{} weights; running x{} and resizing its output "
                                 "to x{} with MATLAB-compatible bicubic",
                                 model->card().name, wanted, native, wanted));
  }

  UpscaleOptions options;
  options.scale = wanted;
  options.tiling.tile = args.tile;
  options.tiling.pad = args.tile_pad;
  options.tiling.overlap = args.tile_overlap;
  if (!args.max_memory.empty()) options.tiling.max_memory = parse_bytes(args.max_memory);
  if (args.alpha != "model" && args.alpha != "bicubic") {
    throw usage_error("--alpha " + args.alpha + ": use model or bicubic");
  }
  options.alpha = args.alpha == "model" ? AlphaMethod::kModel : AlphaMethod::kBicubic;

  const auto files = expand_inputs(args.inputs);
  if (files.empty()) throw usage_error("no image files found in the inputs");
  const bool output_is_file = prepare_output(files, args.output);

  nlohmann::json results = nlohmann::json::array();
  int failed = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& input = files[i];
    const auto destination = output_for(input, args, output_is_file);
    nlohmann::json result = {{"input", input.string()}, {"output", destination.string()}};
    const auto start = std::chrono::steady_clock::now();
    try {
      check_destination(input, destination, args.overwrite);
      const auto image = read_image(input);
      UpscaleReport report;
      const auto label = fmt::format("[{}/{}] {}", i + 1, files.size(), input.filename().string());
      const auto upscaled = upscale(*model, image.pixels.to(device), options,
                                    progress_printer(args.common, label), &report);
      clear_progress_line(args.common);
      const int bits = write_image(destination, upscaled, image.bit_depth, {args.overwrite});
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      result.update({{"ok", true},
                     {"width", image.pixels.size(2)},
                     {"height", image.pixels.size(1)},
                     {"channels", image.pixels.size(0)},
                     {"out_width", upscaled.size(2)},
                     {"out_height", upscaled.size(1)},
                     {"bit_depth_in", image.bit_depth},
                     {"bit_depth_out", bits},
                     {"native_scale", report.native_scale},
                     {"scale", report.scale},
                     {"resized", report.resized},
                     {"tile", report.tile},
                     {"tiles", report.tiles},
                     {"passes", report.passes},
                     {"seconds", seconds}});
      say(args.common, fmt::format("{} -> {} ({}x{} -> {}x{}, {:.2f} s)", input.string(),
                                   destination.string(), image.pixels.size(2), image.pixels.size(1),
                                   upscaled.size(2), upscaled.size(1), seconds));
    } catch (const Error& e) {
      clear_progress_line(args.common);
      if (e.kind() == ErrorKind::kCancelled) throw;
      if (e.kind() == ErrorKind::kUsage || e.kind() == ErrorKind::kSetup) throw;
      ++failed;
      print_error(e.what());
      result.update({{"ok", false}, {"error", e.what()}});
    } catch (const c10::Error& e) {
      clear_progress_line(args.common);
      ++failed;
      print_error(input.string() + ": " + e.what_without_backtrace());
      result.update({{"ok", false}, {"error", e.what_without_backtrace()}});
    }
    results.push_back(result);
  }
  if (failed > 0) {
    print_error(fmt::format("{} of {} inputs failed (listed above); the others were written",
                            failed, files.size()));
  }
  if (args.common.json) {
    print_json({{"model", to_json(model->card())},
                {"scale", wanted},
                {"images", results},
                {"failed", failed}});
  }
  return failed > 0 ? kExitSomeFailed : kExitOk;
}

}  // namespace

void register_upscale(CLI::App& app, Runner& run) {
  auto args = std::make_shared<UpscaleArgs>();
  auto* command = app.add_subcommand("upscale", "upscale images or folders with a model");
  command->add_option("inputs", args->inputs, "image files or folders")->required();
  command->add_option("-o,--output", args->output, "output file (one input) or folder")->required();
  command->add_option("-m,--model", args->model, "model name (see `srkit models`) or model.json")
      ->capture_default_str();
  command->add_option("-s,--scale", args->scale,
                      "output/input size (default: the model's scale, 4 when it has several)");
  command->add_option("--tile", args->tile,
                      "tile side in input pixels (default: from --max-memory)");
  command->add_option("--tile-pad", args->tile_pad,
                      "context around each tile (default: the model's receptive radius, exact)");
  command->add_option("--tile-overlap", args->tile_overlap, "blended overlap between tiles")
      ->capture_default_str();
  command->add_option(
      "--max-memory", args->max_memory,
      "memory for one forward pass, e.g. 2G (default: 1/4 of free RAM, at most 4G)");
  command->add_option("--alpha", args->alpha, "alpha channel: model or bicubic")
      ->capture_default_str();
  command->add_option("--format", args->format, "output extension for folders (default: as input)");
  command
      ->add_option("--model-range", args->model_range,
                   "value range a model given by path expects: 1 or 255")
      ->capture_default_str();
  command->add_flag("--overwrite", args->overwrite, "replace existing outputs");
  add_common_flags(*command, args->common);
  command->callback([args, &run] { run = [args] { return run_upscale(*args); }; });
}

}  // namespace srkit::cli
