// srkit upscale INPUT... -o OUTPUT: upscale image files or folders with a pretrained model or an
// external program; with --calibration, also a mask of the pixels to trust (seed 003).
#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>
#include <torch/torch.h>

#include "common.h"
#include "conformal_units.h"
#include "flag_checks.h"
#include "srkit/conformal/calibration_file.h"
#include "srkit/conformal/confidence.h"
#include "srkit/core/runtime.h"
#include "srkit/engine/batch.h"
#include "srkit/engine/flow_upscale.h"
#include "srkit/engine/input_rows.h"
#include "srkit/engine/multimodal_upscale.h"
#include "srkit/models/multimodal_model.h"
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
  int64_t samples = 1;  // of a generative model: seeds seed .. seed + samples - 1
  std::vector<std::string> modalities;  // of a multi-modal model: NAME=FILE or NAME=FOLDER
  std::string weights_map;
  bool overwrite = false;
  bool skip_existing = false;
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
  // Scored a window of the input at a time and written as rows (a model, an integer scale, a
  // local score), or held whole (a program, or noise or clipping in the score).
  bool windowed = false;
};

// --modality NAME=PATH, by name. A usage error for a value without '=' or a name given twice.
std::map<std::string, std::filesystem::path> modality_files(const std::vector<std::string>& values) {
  std::map<std::string, std::filesystem::path> files;
  for (const auto& value : values) {
    const auto eq = value.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == value.size()) {
      throw usage_error("--modality " + value +
                        ": give NAME=FILE or NAME=FOLDER, e.g. --modality depth=photo_depth.png");
    }
    const auto name = value.substr(0, eq);
    if (files.count(name)) throw usage_error("--modality " + name + " is given twice");
    files[name] = value.substr(eq + 1);
  }
  return files;
}

// Says why a multi-modal run's extra flags do not apply; nothing when they do.
void check_multimodal_flags(const UpscaleArgs& args, const Upscaler& upscaler) {
  if (args.modalities.empty() && args.weights_map.empty()) return;
  if (!upscaler.multimodal()) {
    throw usage_error("--modality and --weights-map are for multi-modal models (M3ESR, trained "
                      "by `srkit train --config configs/m3esr_x4.yaml`); " + upscaler.name +
                      " takes the image alone");
  }
  if (!args.calibration.empty()) {
    throw usage_error("--calibration scores the model with the maps it computes itself: leave "
                      "out --modality and --weights-map");
  }
  const auto& network = dynamic_cast<MultimodalModel&>(*upscaler.model).network();
  const auto fusion = network.config().fusion;
  if (!args.weights_map.empty() && fusion != Fusion::kDynamic && fusion != Fusion::kStatic &&
      fusion != Fusion::kScalar) {
    throw usage_error("--weights-map: " + upscaler.name + " fuses by " + fusion_name(fusion) +
                      ", which has no per-modality weights");
  }
  for (const auto& [name, path] : modality_files(args.modalities)) {
    const auto& names = network.config().modalities;
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      throw usage_error("--modality " + name + ": " + upscaler.name + " takes " +
                        (names.empty() ? std::string("none") : nlohmann::json(names).dump()));
    }
  }
}

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
    masks->windowed = upscaler.model && !upscaler.generative() && !upscaler.multimodal() &&
                      upscaler.scale == std::round(upscaler.scale) &&
                      conformal::scores_locally(masks->calibration.settings);
    if (args.mask.empty() && args.overlay.empty() && !args.common.json) {
      throw usage_error("--calibration needs --mask, --overlay or --json to show its result");
    }
  } else if (!args.mask.empty() || !args.overlay.empty()) {
    throw usage_error("--mask and --overlay need --calibration (make one with srkit calibrate)");
  }

  check_multimodal_flags(args, upscaler);
  const auto given_maps = modality_files(args.modalities);

  BatchOptions batch;
  batch.output = args.output;
  if (!args.format.empty()) batch.extension = "." + args.format;
  if (!args.mask.empty()) batch.extras["mask"] = args.mask;
  if (!args.overlay.empty()) batch.extras["overlay"] = args.overlay;
  if (!args.weights_map.empty()) batch.extras["weights"] = args.weights_map;
  batch.overwrite = args.overwrite;
  batch.skip_existing = args.skip_existing;
  // The model path reads a PNG or TIFF a band of rows at a time, and holds other 8-bit inputs as
  // their samples, scaled a window at a time (a quarter of the float image).
  if (upscaler.model && !upscaler.generative() && !upscaler.multimodal() &&
      (!masks || masks->windowed)) {
    batch.storage = PixelStorage::kStreamed;
  }
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
  // A calibrated upscale a window at a time: the output, its mask and overlay written as rows.
  const auto scored_rows = [&](const Image& image, const ImageShape& in, const RowSinks& sinks,
                               int64_t held_bytes, const ProgressFn& progress) {
    const auto& settings = masks->calibration.settings;
    const int64_t budget = conformal::scoring_budget(batch.max_memory, held_bytes);
    const auto windows = conformal::plan_scoring_windows(
        in.height, in.width, in.channels, upscaler.scale, settings, upscaler.context(), budget);
    // The model's passes get what the windows leave.
    auto options = upscaler.options;
    options.max_memory = batch.max_memory;
    options.held_bytes = held_bytes + budget;
    const UpscaleFn run = [&](const torch::Tensor& lr) {
      return upscale(*upscaler.model, lr.to(device), options);
    };
    auto input = image.rows ? InputRows(image.rows, torch::kCPU) : InputRows(image.pixels);
    input.begin(1);
    int64_t trusted = 0;
    const auto mask_sink = sinks.extras.find("mask");
    const auto overlay_sink = sinks.extras.find("overlay");
    conformal::predict_with_score_in_bands(
        run, in.height, in.width, [&](int64_t from, int64_t to) { return input.rows(from, to); },
        upscaler.scale, settings, windows,
        [&](const torch::Tensor& prediction, const torch::Tensor& score, int64_t first_row) {
          // A few rows at a time: the mask, the overlay and the writers' samples made of a whole
          // band would hold several times the band.
          for (int64_t r = 0; r < score.size(0); r += conformal::kScoredRowsAtOnce) {
            const int64_t n = std::min(conformal::kScoredRowsAtOnce, score.size(0) - r);
            const auto rows = prediction.slice(1, r, r + n);
            const auto mask = conformal::trusted_mask(score.slice(0, r, r + n), masks->threshold);
            trusted += mask.sum().item<int64_t>();
            sinks.main(rows, first_row + r);
            if (mask_sink != sinks.extras.end()) {
              mask_sink->second(mask.to(torch::kFloat).unsqueeze(0), first_row + r);
            }
            if (overlay_sink != sinks.extras.end()) {
              overlay_sink->second(conformal::untrusted_overlay(rows, mask), first_row + r);
            }
          }
        },
        progress);
    const double pixels = static_cast<double>(scaled_size(in.height, upscaler.scale)) *
                          static_cast<double>(scaled_size(in.width, upscaler.scale));
    return nlohmann::json{
        {"trusted_fraction", static_cast<double>(trusted) / pixels},
        {"scoring_window", windows.window},
        {"scoring_context", windows.context + conformal::score_context(settings, upscaler.scale)},
        {"input_streamed", input.streamed()},
        {"memory", {{"budget", batch.max_memory}, {"scoring", budget}}}};
  };
  const auto note_calibrated_size = [&](int64_t height, int64_t width) {
    const int64_t unit = masks->calibration.data.value("crop", int64_t{0});
    if (unit <= 0 || (height == unit && width == unit)) return;
    clear_progress_line(args.common);
    say(args.common, fmt::format("note: {} was calibrated on {}x{} crops; the guarantee is "
                                 "for images of that size, this output is {}x{}",
                                 args.calibration, unit, unit, width, height));
  };
  if (args.samples > 1 && !upscaler.generative()) {
    throw usage_error("--samples " + std::to_string(args.samples) +
                      " draws samples of a generative model; " + upscaler.name +
                      " gives one output (omit --samples)");
  }
  uint64_t seed = upscaler.seed;  // of the sample being made
  // A sample's file records how it was drawn: the seed, steps and solver that remake it.
  const auto record_sampling = [&](FileResult& out) {
    out.facts["sampling"] = upscaler.sampling;
    out.facts["sampling"]["seed"] = seed;
  };
  const auto files = expand_inputs(args.inputs);
  const FileWork work = [&](const Image& image, size_t index, const ProgressFn& progress) {
    FileResult out;
    out.facts["scale"] = upscaler.scale;
    if (masks && masks->windowed) {
      const auto in = image_shape(image);
      out.shape = {scaled_size(in.height, upscaler.scale), scaled_size(in.width, upscaler.scale),
                   in.channels};
      note_calibrated_size(out.shape.height, out.shape.width);
      if (!args.mask.empty()) out.row_extras["mask"] = 1;
      if (!args.overlay.empty()) out.row_extras["overlay"] = 3;
      out.facts.update(
          {{"alpha", args.alpha}, {"threshold", conformal::threshold_to_json(masks->threshold)}});
      out.rows = [&, image, progress, in](const RowSinks& sinks, int, int64_t held_bytes) {
        return scored_rows(image, in, sinks, held_bytes, progress);
      };
    } else if (masks) {
      const auto scored =
          predict_with_score(upscaler, seed, image.pixels, masks->calibration.settings, progress);
      out.image = scored.prediction;
      note_calibrated_size(out.image.size(1), out.image.size(2));
      const auto trusted = conformal::trusted_mask(scored.score, masks->threshold);
      if (!args.mask.empty()) out.extras["mask"] = trusted.to(torch::kFloat).unsqueeze(0);
      if (!args.overlay.empty()) {
        out.extras["overlay"] = conformal::untrusted_overlay(out.image, trusted);
      }
      out.facts.update({{"alpha", args.alpha},
                        {"threshold", conformal::threshold_to_json(masks->threshold)},
                        {"trusted_fraction", trusted.to(torch::kFloat64).mean().item<double>()}});
      if (upscaler.generative()) record_sampling(out);
    } else if (upscaler.multimodal()) {
      // The maps are whole-image (computed or the user's), so the output is made whole.
      const auto given = read_modality_inputs(given_maps, files[index]);
      auto result = multimodal_upscale(*upscaler.model, image.pixels.to(device), given,
                                       upscaler.options.tiling, progress);
      out.image = result.image;
      if (!args.weights_map.empty()) out.extras["weights"] = weights_picture(result.weights);
      out.facts["modalities"] = {
          {"given", result.given}, {"computed", result.computed}, {"missing", result.missing}};
    } else if (upscaler.model && !upscaler.generative()) {
      // The output is made and written a band of rows at a time: it never exists whole.
      const auto in = image_shape(image);
      out.shape = {scaled_size(in.height, upscaler.scale), scaled_size(in.width, upscaler.scale),
                   in.channels};
      out.rows = [&, image, progress](const RowSinks& sinks, int bit_depth, int64_t held_bytes) {
        UpscaleReport report;
        auto options = upscaler.options;
        options.bit_depth = bit_depth;  // an 8-bit file's band holds bytes, not floats
        options.held_bytes = held_bytes;
        auto input =
            image.rows ? InputRows(image.rows, device) : InputRows(image.pixels.to(device));
        upscale_in_bands(*upscaler.model, input, options, sinks.main, progress, &report);
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
    } else if (upscaler.generative()) {
      FlowUpscaleReport report;
      out.image = upscaler.sample(image.pixels, seed, progress, &report);
      record_sampling(out);
      warn_memory(report.memory);
      out.facts.update({{"tile", report.tile},
                        {"windows", report.windows},
                        {"tile_pad", report.context},
                        {"velocities", report.evaluations},
                        {"seconds_model", report.model_seconds},
                        {"memory",
                         {{"budget", report.memory.total},
                          {"runtime", report.memory.runtime},
                          {"weights", report.memory.weights},
                          {"input", report.memory.input},
                          {"held", report.memory.held},
                          {"pass", report.memory.pass},
                          {"window_pass", report.window_pass}}}});
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
          args.common, fmt::format("[{}/{}] {}{}{}", index + 1, count, input.filename().string(),
                                   args.samples > 1 ? fmt::format(" seed {}", seed) : std::string(),
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
    if (record.value("skipped", false)) {
      say(args.common, fmt::format("{} -> {}: exists, skipped", record["input"].get<std::string>(),
                                   record["output"].get<std::string>()));
      return;
    }
    std::string trust;
    if (record.contains("trusted_fraction")) {
      trust = fmt::format(", {:.1f} % trusted at alpha {}",
                          100.0 * record["trusted_fraction"].get<double>(), args.alpha);
    }
    if (record.contains("modalities")) {
      const auto list = [&](const char* origin) {
        std::string names;
        for (const auto& name : record["modalities"][origin]) {
          names += (names.empty() ? "" : ", ") + name.get<std::string>();
        }
        return names.empty() ? std::string("none") : names;
      };
      trust += fmt::format("; modalities given: {}, computed: {}, missing: {}", list("given"),
                           list("computed"), list("missing"));
    }
    say(args.common,
        fmt::format("{} -> {} ({}x{} -> {}x{}, {:.2f} s{})", record["input"].get<std::string>(),
                    record["output"].get<std::string>(), record["width"].get<int64_t>(),
                    record["height"].get<int64_t>(), record["out_width"].get<int64_t>(),
                    record["out_height"].get<int64_t>(), record["seconds"].get<double>(), trust));
  };

  // K samples: K batches, each file named by its seed (photo_seed3.png).
  BatchReport report;
  for (int64_t k = 0; k < args.samples; ++k) {
    seed = upscaler.seed + static_cast<uint64_t>(k);
    if (args.samples > 1) batch.suffix = "_seed" + std::to_string(seed);
    file_progress = {};
    auto part = run_batch(files, batch, work, events);
    report.failed += part.failed;
    report.skipped += part.skipped;
    report.files.insert(report.files.end(), part.files.begin(), part.files.end());
  }
  const auto outputs = files.size() * static_cast<size_t>(args.samples);
  const char* what = args.samples > 1 ? "samples" : "inputs";
  if (report.failed > 0) {
    print_error(static_cast<size_t>(report.failed) == outputs
                    ? fmt::format("{} of {} {} failed (listed above); nothing was written",
                                  report.failed, outputs, what)
                    : fmt::format("{} of {} {} failed (listed above); the others were written",
                                  report.failed, outputs, what));
  }
  if (args.common.json) {
    nlohmann::json document = {
        {"model", upscaler.model ? to_json(upscaler.model->card()) : upscaler.identity},
        {"scale", upscaler.scale},
        {"images", report.files},
        {"failed", report.failed},
        {"skipped", report.skipped}};
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
  add_sampling_flags(*command, args->upscaler);
  command
      ->add_option("--samples", args->samples,
                   "generative models: write this many samples per input, seeds --seed, --seed + "
                   "1, ..., each named by its seed (photo_seed3.png)")
      ->check(CLI::Range(int64_t{1}, int64_t{1000}));
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
  command->add_option("--modality", args->modalities,
                      "multi-modal models: NAME=FILE (or NAME=FOLDER of files named as the "
                      "inputs) gives a modality map instead of the computed one (edges, "
                      "segmentation) or one srkit cannot compute (depth; text: a caption file or "
                      "an embedding .npy); NAME=none leaves it out; repeatable");
  command->add_option("--weights-map", args->weights_map,
                      "multi-modal models: file (one input) or folder for a picture of the "
                      "per-pixel modality weights (one colour per modality; docs/multimodal.md)");
  command->add_flag("--overwrite", args->overwrite, "replace existing outputs");
  command
      ->add_flag("--skip-existing", args->skip_existing,
                 "skip inputs whose outputs exist (finish an interrupted batch)")
      ->excludes("--overwrite");
  add_common_flags(*command, args->common);
  command->callback([args, command, &run] {
    args->model_chosen = command->count("--model") + command->count("--model-cmd") > 0;
    run = [args] { return run_upscale(*args); };
  });
}

}  // namespace srkit::cli
