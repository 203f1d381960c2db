// srkit upscale INPUT... -o OUTPUT: upscale image files or folders with a pretrained model or an
// external program; with --calibration, also a mask of the pixels to trust (seed 003).
#include <chrono>
#include <cmath>
#include <optional>

#include <fmt/format.h>
#include <torch/torch.h>

#include "common.h"
#include "srkit/conformal/calibration_file.h"
#include "srkit/io/image_io.h"
#include "upscaler_flags.h"

namespace srkit::cli {
namespace {

struct UpscaleArgs {
  std::vector<std::string> inputs;
  std::string output;
  UpscalerFlags upscaler;
  std::string format;
  std::string calibration;
  double alpha = 0.1;
  std::string mask;
  std::string overlay;
  bool overwrite = false;
  CommonFlags common;
};

// Where one input's output (or mask, overlay) goes: the file itself for a single input, else
// <folder>/<stem><ext>.
std::filesystem::path destination_for(const std::filesystem::path& input, const std::string& target,
                                      bool target_is_file, const std::string& extension) {
  if (target_is_file) return target;
  return std::filesystem::path(target) / (input.stem().string() + extension);
}

// The confidence mask of a calibrated upscale: what to compute and where to write it.
struct MaskJob {
  conformal::Calibration calibration;
  float threshold = 0;
  bool mask_is_file = false, overlay_is_file = false;
};

int run_upscale(const UpscaleArgs& args) {
  const auto device = apply_runtime(args.common);
  const auto upscaler = make_upscaler(args.upscaler, device, args.common.quiet);

  std::optional<MaskJob> masks;
  if (!args.calibration.empty()) {
    masks.emplace();
    masks->calibration = conformal::load_calibration(args.calibration);
    conformal::check_same_model(masks->calibration, args.calibration, upscaler.identity,
                                upscaler.scale);
    if (!(args.alpha > 0)) throw usage_error("--alpha must be > 0");
    masks->threshold = conformal::threshold(masks->calibration, args.alpha);
    if (args.mask.empty() && args.overlay.empty() && !args.common.json) {
      throw usage_error("--calibration needs --mask, --overlay or --json to show its result");
    }
  } else if (!args.mask.empty() || !args.overlay.empty()) {
    throw usage_error("--mask and --overlay need --calibration (make one with srkit calibrate)");
  }

  const auto files = expand_inputs(args.inputs);
  if (files.empty()) throw usage_error("no image files found in the inputs");
  const bool output_is_file = prepare_output(files, args.output);
  if (masks && !args.mask.empty()) masks->mask_is_file = prepare_output(files, args.mask);
  if (masks && !args.overlay.empty()) masks->overlay_is_file = prepare_output(files, args.overlay);

  nlohmann::json results = nlohmann::json::array();
  int failed = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& input = files[i];
    const auto extension = args.format.empty() ? input.extension().string() : "." + args.format;
    const auto destination = destination_for(input, args.output, output_is_file, extension);
    nlohmann::json result = {{"input", input.string()}, {"output", destination.string()}};
    const auto start = std::chrono::steady_clock::now();
    try {
      check_destination(input, destination, args.overwrite);
      std::filesystem::path mask_path, overlay_path;
      if (masks && !args.mask.empty()) {
        mask_path = destination_for(input, args.mask, masks->mask_is_file, ".png");
        check_destination(input, mask_path, args.overwrite);
      }
      if (masks && !args.overlay.empty()) {
        overlay_path = destination_for(input, args.overlay, masks->overlay_is_file, ".png");
        check_destination(input, overlay_path, args.overwrite);
      }
      const auto image = read_image(input);
      const auto label = fmt::format("[{}/{}] {}", i + 1, files.size(), input.filename().string());
      torch::Tensor upscaled;
      UpscaleReport report;
      if (masks) {
        const auto scored = conformal::predict_with_score(
            upscaler.run, image.pixels, upscaler.scale, masks->calibration.settings,
            progress_printer(args.common, label + " samples"));
        upscaled = scored.prediction;
        const int64_t unit = masks->calibration.data.value("crop", int64_t{0});
        if (unit > 0 && (upscaled.size(1) != unit || upscaled.size(2) != unit)) {
          say(args.common,
              fmt::format("note: {} was calibrated on {}x{} crops; the guarantee is "
                          "for images of that size, this output is {}x{}",
                          args.calibration, unit, unit, upscaled.size(2), upscaled.size(1)));
        }
        const auto trusted = conformal::trusted_mask(scored.score, masks->threshold);
        const double fraction = trusted.to(torch::kFloat64).mean().item<double>();
        if (!mask_path.empty()) {
          write_image(mask_path, trusted.to(torch::kFloat).unsqueeze(0), 8, {args.overwrite});
        }
        if (!overlay_path.empty()) {
          write_image(overlay_path, conformal::untrusted_overlay(upscaled, trusted), 8,
                      {args.overwrite});
        }
        result.update({{"alpha", args.alpha},
                       {"threshold", conformal::threshold_to_json(masks->threshold)},
                       {"trusted_fraction", fraction},
                       {"mask", mask_path.string()},
                       {"overlay", overlay_path.string()}});
      } else if (upscaler.model) {
        upscaled = upscale(*upscaler.model, image.pixels.to(device), upscaler.options,
                           progress_printer(args.common, label), &report);
      } else {
        upscaled = upscaler.run(image.pixels);
      }
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
                     {"scale", upscaler.scale},
                     {"seconds", seconds}});
      if (report.native_scale > 0) {
        result.update({{"native_scale", report.native_scale},
                       {"resized", report.resized},
                       {"tile", report.tile},
                       {"tiles", report.tiles},
                       {"passes", report.passes}});
      }
      std::string trust;
      if (result.contains("trusted_fraction")) {
        trust = fmt::format(", {:.1f} % trusted at alpha {}",
                            100.0 * result["trusted_fraction"].get<double>(), args.alpha);
      }
      say(args.common, fmt::format("{} -> {} ({}x{} -> {}x{}, {:.2f} s{})", input.string(),
                                   destination.string(), image.pixels.size(2), image.pixels.size(1),
                                   upscaled.size(2), upscaled.size(1), seconds, trust));
    } catch (const Error& e) {
      clear_progress_line(args.common);
      if (e.kind() == ErrorKind::kCancelled) throw;
      if (e.kind() == ErrorKind::kUsage || e.kind() == ErrorKind::kSetup) throw;
      ++failed;
      print_error(describe(e));
      result.update({{"ok", false}, {"error", describe(e)}});
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
    nlohmann::json document = {
        {"model", upscaler.model ? to_json(upscaler.model->card()) : upscaler.identity},
        {"scale", upscaler.scale},
        {"images", results},
        {"failed", failed}};
    if (masks) {
      document["calibration"] = {{"file", args.calibration},
                                 {"images", masks->calibration.images()},
                                 {"alpha", args.alpha},
                                 {"threshold", conformal::threshold_to_json(masks->threshold)},
                                 {"trusted", "score < threshold"}};
    }
    print_json(document);
  }
  return failed > 0 ? kExitSomeFailed : kExitOk;
}

}  // namespace

void register_upscale(CLI::App& app, Runner& run) {
  auto args = std::make_shared<UpscaleArgs>();
  auto* command = app.add_subcommand("upscale", "upscale images or folders with a model");
  command->add_option("inputs", args->inputs, "image files or folders")->required();
  command->add_option("-o,--output", args->output, "output file (one input) or folder")->required();
  add_upscaler_flags(*command, args->upscaler);
  command->add_option("--format", args->format, "output extension for folders (default: as input)");
  command->add_option("--calibration", args->calibration,
                      "calibration file from `srkit calibrate`: also compute a confidence mask");
  command
      ->add_option("--alpha", args->alpha,
                   "guaranteed level: expected worst error inside the mask (0..3, in the "
                   "calibrated error measure)")
      ->capture_default_str();
  command->add_option("--mask", args->mask,
                      "mask file (one input) or folder: white = trusted pixels");
  command->add_option("--overlay", args->overlay,
                      "file or folder: the output with untrusted pixels tinted red");
  command->add_flag("--overwrite", args->overwrite, "replace existing outputs");
  add_common_flags(*command, args->common);
  command->callback([args, &run] { run = [args] { return run_upscale(*args); }; });
}

}  // namespace srkit::cli
