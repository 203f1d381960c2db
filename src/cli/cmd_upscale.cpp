// srkit upscale INPUT... -o OUTPUT: upscale image files or folders with a pretrained model or an
// external program; with --calibration, also a mask of the pixels to trust (seed 003).
#include <algorithm>
#include <optional>

#include <fmt/format.h>
#include <torch/torch.h>

#include "common.h"
#include "flag_checks.h"
#include "srkit/conformal/calibration_file.h"
#include "srkit/core/runtime.h"
#include "srkit/engine/batch.h"
#include "srkit/engine/input_rows.h"
#include "srkit/models/registry.h"
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
  bool model_chosen = false;  // --model or --model-cmd given
  CommonFlags common;
};

// The model `srkit upscale` runs when none is named: Real-ESRGAN x4fast, the best real-world
// quality per second of the registered models (README, "Which model by default").
constexpr const char* kDefaultUpscaleModel = "realesrgan-x4fast";

// The confidence mask of a calibrated upscale: what to compute.
struct MaskJob {
  conformal::Calibration calibration;
  float threshold = 0;
};

int run_upscale(const UpscaleArgs& args) {
  const auto device = apply_runtime(args.common);
  std::optional<MaskJob> masks;
  auto flags = args.upscaler;
  if (!args.calibration.empty()) {
    masks.emplace();
    masks->calibration = conformal::load_calibration(args.calibration);
    // Without --model, a calibrated upscale runs the registered model it was calibrated for.
    const auto& calibrated = masks->calibration.model;
    const auto registered = [](const std::string& name) {
      const auto& all = known_models();
      return std::any_of(all.begin(), all.end(), [&](const auto& e) { return e.name == name; });
    };
    if (!args.model_chosen && calibrated.contains("name") &&
        registered(calibrated["name"].get<std::string>())) {
      flags.model = calibrated["name"].get<std::string>();
      if (flags.scale <= 0) flags.scale = masks->calibration.scale;
    }
  }
  const auto upscaler = make_upscaler(flags, device, args.common.quiet);
  if (masks) {
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

  BatchOptions batch;
  batch.output = args.output;
  if (!args.format.empty()) batch.extension = "." + args.format;
  if (!args.mask.empty()) batch.extras["mask"] = args.mask;
  if (!args.overlay.empty()) batch.extras["overlay"] = args.overlay;
  batch.overwrite = args.overwrite;
  // The model path reads a PNG or TIFF a band of rows at a time, and holds other 8-bit inputs as
  // their samples, scaled a window at a time (a quarter of the float image).
  if (upscaler.model && !masks) batch.storage = PixelStorage::kStreamed;
  batch.max_memory =
      upscaler.options.max_memory > 0 ? upscaler.options.max_memory : default_memory_budget(device);

  bool warned_context = false;  // say it once per run, not once per file
  const auto warn_context = [&](const UpscaleReport& report) {
    if (report.exact || warned_context) return;
    warned_context = true;
    clear_progress_line(args.common);
    const auto& card = upscaler.model->card();
    say(args.common,
        card.global_context
            ? fmt::format("note: {} averages over the whole image (squeeze-excitation); "
                          "with --tile each tile uses its own averages, so the result may "
                          "differ slightly from one pass (omit --tile for an exact result)",
                          card.name)
            : fmt::format("note: tiles get {} px of context, less than the model's receptive "
                          "radius ({:.0f} px), to stay within memory; the blend hides the "
                          "seams but tiles may differ slightly from one pass (raise "
                          "--max-memory or set --tile-pad for an exact result)",
                          report.tile_pad, card.receptive_radius));
  };
  bool warned_memory = false;
  const auto warn_memory = [&](const MemoryShares& memory) {
    if (!memory.over || warned_memory) return;
    warned_memory = true;
    clear_progress_line(args.common);
    const auto mb = [](int64_t bytes) { return (bytes + (1 << 20) - 1) >> 20; };
    say(args.common,
        fmt::format("note: --max-memory {} MB leaves less than the smallest tiles need after the "
                    "runtime ({} MB), the model ({} MB) and the image ({} MB); the smallest tiles "
                    "were used and the run took more",
                    mb(memory.total), mb(memory.runtime), mb(memory.weights),
                    mb(memory.input + memory.held)));
  };
  const FileWork work = [&](const Image& image, size_t, const ProgressFn& progress) {
    FileResult out;
    out.facts["scale"] = upscaler.scale;
    if (masks) {
      const auto scored = conformal::predict_with_score(upscaler.run, image.pixels, upscaler.scale,
                                                        masks->calibration.settings, progress);
      out.image = scored.prediction;
      const int64_t unit = masks->calibration.data.value("crop", int64_t{0});
      if (unit > 0 && (out.image.size(1) != unit || out.image.size(2) != unit)) {
        clear_progress_line(args.common);
        say(args.common,
            fmt::format("note: {} was calibrated on {}x{} crops; the guarantee is "
                        "for images of that size, this output is {}x{}",
                        args.calibration, unit, unit, out.image.size(2), out.image.size(1)));
      }
      const auto trusted = conformal::trusted_mask(scored.score, masks->threshold);
      if (!args.mask.empty()) out.extras["mask"] = trusted.to(torch::kFloat).unsqueeze(0);
      if (!args.overlay.empty()) {
        out.extras["overlay"] = conformal::untrusted_overlay(out.image, trusted);
      }
      out.facts.update({{"alpha", args.alpha},
                        {"threshold", conformal::threshold_to_json(masks->threshold)},
                        {"trusted_fraction", trusted.to(torch::kFloat64).mean().item<double>()}});
    } else if (upscaler.model) {
      // The output is made and written a band of rows at a time: it never exists whole.
      const auto in = image_shape(image);
      out.shape = {scaled_size(in.height, upscaler.scale), scaled_size(in.width, upscaler.scale),
                   in.channels};
      out.rows = [&, image, progress](const RowSink& sink, int bit_depth, int64_t held_bytes) {
        UpscaleReport report;
        auto options = upscaler.options;
        options.bit_depth = bit_depth;  // an 8-bit file's band holds bytes, not floats
        options.held_bytes = held_bytes;
        auto input =
            image.rows ? InputRows(image.rows, device) : InputRows(image.pixels.to(device));
        upscale_in_bands(*upscaler.model, input, options, sink, progress, &report);
        warn_context(report);
        warn_memory(report.memory);
        const auto& memory = report.memory;
        return nlohmann::json{{"native_scale", report.native_scale},
                              {"resized", report.resized},
                              {"tile", report.tile},
                              {"tiles", report.tiles},
                              {"tile_pad", report.tile_pad},
                              {"exact_tiles", report.exact},
                              {"passes", report.passes},
                              {"seconds_model", report.model_seconds},
                              {"seconds_upscaling", report.seconds},
                              {"input_streamed", report.input_streamed},
                              {"seconds_reading_rows", report.input_seconds},
                              {"memory",
                               {{"budget", memory.total},
                                {"runtime", memory.runtime},
                                {"weights", memory.weights},
                                {"input", memory.input},
                                {"input_held", report.input_bytes_held},
                                {"held", memory.held},
                                {"band", memory.band},
                                {"allocator", memory.allocator},
                                {"pass", memory.pass}}}};
      };
    } else {
      out.image = upscaler.run(image.pixels);
    }
    return out;
  };

  BatchEvents events;
  ProgressFn file_progress;  // the printer of the file in work: it times the file for its ETA
  size_t file_index = 0;
  events.progress = [&](size_t index, size_t count, const std::filesystem::path& input,
                        int64_t done, int64_t total) {
    if (!file_progress || index != file_index) {
      file_index = index;
      file_progress = progress_printer(
          args.common, fmt::format("[{}/{}] {}{}", index + 1, count, input.filename().string(),
                                   masks ? " samples" : ""));
    }
    return file_progress(done, total);
  };
  events.file_done = [&](nlohmann::json& record, const Error* failure) {
    clear_progress_line(args.common);
    if (failure) {
      record["error"] = describe(*failure);
      print_error(describe(*failure));
      return;
    }
    std::string trust;
    if (record.contains("trusted_fraction")) {
      trust = fmt::format(", {:.1f} % trusted at alpha {}",
                          100.0 * record["trusted_fraction"].get<double>(), args.alpha);
    }
    say(args.common,
        fmt::format("{} -> {} ({}x{} -> {}x{}, {:.2f} s{})", record["input"].get<std::string>(),
                    record["output"].get<std::string>(), record["width"].get<int64_t>(),
                    record["height"].get<int64_t>(), record["out_width"].get<int64_t>(),
                    record["out_height"].get<int64_t>(), record["seconds"].get<double>(), trust));
  };

  const auto files = expand_inputs(args.inputs);
  const auto report = run_batch(files, batch, work, events);
  if (report.failed > 0) {
    print_error(static_cast<size_t>(report.failed) == files.size()
                    ? fmt::format("{} of {} inputs failed (listed above); nothing was written",
                                  report.failed, files.size())
                    : fmt::format("{} of {} inputs failed (listed above); the others were written",
                                  report.failed, files.size()));
  }
  if (args.common.json) {
    nlohmann::json document = {
        {"model", upscaler.model ? to_json(upscaler.model->card()) : upscaler.identity},
        {"scale", upscaler.scale},
        {"images", report.files},
        {"failed", report.failed}};
    if (masks) {
      document["calibration"] = {{"file", args.calibration},
                                 {"images", masks->calibration.images()},
                                 {"alpha", args.alpha},
                                 {"threshold", conformal::threshold_to_json(masks->threshold)},
                                 {"trusted", "score < threshold"}};
    }
    print_json(document);
  }
  return report.failed > 0 ? kExitSomeFailed : kExitOk;
}

}  // namespace

void register_upscale(CLI::App& app, Runner& run) {
  auto args = std::make_shared<UpscaleArgs>();
  auto* command = app.add_subcommand("upscale", "upscale images or folders with a model");
  command->add_option("inputs", args->inputs, "image files or folders")->required();
  command->add_option("-o,--output", args->output, "output file (one input) or folder")->required();
  args->upscaler.model = kDefaultUpscaleModel;
  add_upscaler_flags(*command, args->upscaler);
  command->add_option("--format", args->format, "output extension for folders (default: as input)");
  command->add_option("--calibration", args->calibration,
                      "calibration file from `srkit calibrate`: also compute a confidence mask");
  command
      ->add_option("--alpha", args->alpha,
                   "guaranteed level: expected worst error inside the mask (0..3, in the "
                   "calibrated error measure)")
      ->check(positive())
      ->capture_default_str();
  command->add_option("--mask", args->mask,
                      "mask file (one input) or folder: white = trusted pixels");
  command->add_option("--overlay", args->overlay,
                      "file or folder: the output with untrusted pixels tinted red");
  command->add_flag("--overwrite", args->overwrite, "replace existing outputs");
  add_common_flags(*command, args->common);
  command->callback([args, command, &run] {
    args->model_chosen = command->count("--model") + command->count("--model-cmd") > 0;
    run = [args] { return run_upscale(*args); };
  });
}

}  // namespace srkit::cli
