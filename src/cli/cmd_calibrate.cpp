// srkit calibrate: thresholds for confidence masks with a statistical guarantee (seed 003). Runs
// the upscaler on LR versions of HR images, measures where its output is wrong, and finds for each
// alpha the score threshold below which the expected worst error is at most alpha.
#include <chrono>

#include <fmt/format.h>
#include <torch/torch.h>

#include "common.h"
#include "conformal_units.h"
#include "flag_checks.h"
#include "srkit/conformal/calibration_file.h"
#include "srkit/engine/batch.h"
#include "upscaler_flags.h"

namespace srkit::cli {
namespace {

struct CalibrateArgs {
  UpscalerFlags upscaler;
  UnitFlags units;
  std::string alphas = "0.05,0.1,0.2";
  conformal::ConfidenceSettings settings;
  std::string score_space = "lab";
  std::string fidelity = "lab";
  std::string output;
  std::string spread = "seeds";
  std::string spread_given;  // non-empty when --spread was given
  bool overwrite = false;
  CommonFlags common;
};

std::string threshold_text(float t) {
  if (t == conformal::kEmptyMask) return "-inf (empty mask)";
  if (t == conformal::kFullMask) return "inf (every pixel)";
  return fmt::format("{:.6g}", t);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int run_calibrate(CalibrateArgs args) {
  const auto device = apply_runtime(args.common);
  args.settings.score.space = conformal::parse_colour_space(args.score_space);
  args.settings.fidelity.metric = conformal::parse_fidelity_metric(args.fidelity);
  if (args.settings.fidelity.kernel < 1 || args.settings.fidelity.kernel % 2 == 0) {
    throw usage_error("--fidelity-kernel must be an odd number >= 1");
  }
  conformal::PatchVariance check_score_options(args.settings.score);
  const auto alphas = parse_alphas(args.alphas);
  check_destination("", args.output, args.overwrite);

  const auto upscaler = make_upscaler(args.upscaler, device, args.common.quiet);
  // A generative model is scored by the spread of its own samples (seeds 0, 1, ...), of its
  // sample of seed 0 under flips and rotations, or both; any other model by flips and rotations.
  if (args.spread != "seeds" && args.spread != "flips" && args.spread != "both") {
    throw usage_error("--spread " + args.spread + ": use seeds, flips or both");
  }
  if (!upscaler.generative() && !args.spread_given.empty()) {
    throw usage_error("--spread chooses what a generative model's score spreads over; " +
                      upscaler.name + " is scored by flips and rotations (omit --spread)");
  }
  const bool generative = upscaler.generative();
  args.settings.ensemble.seeded = generative && args.spread != "flips";
  args.settings.ensemble.transforms = !generative || args.spread != "seeds";
  ensemble_augmentations(args.settings.ensemble);  // rejects bad sample settings now
  const auto units = unit_options(args.units, upscaler.scale);
  say(args.common, fmt::format("calibrating {} x{} on {} ({} samples per unit) ...", upscaler.name,
                               upscaler.scale, args.units.data, args.settings.ensemble.samples));

  std::vector<conformal::Staircase> staircases;
  double inference_seconds = 0, sweep_seconds = 0;
  const auto loop = for_each_unit(
      args.units, units, args.common,
      [&](const conformal::ImageUnit& unit, const std::string& label) {
        auto start = std::chrono::steady_clock::now();
        const auto scored = predict_with_score(upscaler, upscaler.seed, unit.lr, args.settings,
                                               progress_printer(args.common, label));
        inference_seconds += seconds_since(start);
        if (scored.prediction.size(1) != unit.hr.size(1) ||
            scored.prediction.size(2) != unit.hr.size(2)) {
          throw input_error(unit.name, "the upscaled image does not match the HR size");
        }
        start = std::chrono::steady_clock::now();
        const auto errors =
            conformal::fidelity_map(unit.hr, scored.prediction, args.settings.fidelity);
        staircases.push_back(conformal::image_staircase(scored.score, errors));
        sweep_seconds += seconds_since(start);
      });
  if (staircases.empty()) throw usage_error("no usable images in " + args.units.data);

  const auto start = std::chrono::steady_clock::now();
  conformal::Calibration calibration;
  calibration.curve = conformal::risk_curve(staircases);
  sweep_seconds += seconds_since(start);
  calibration.model = upscaler.identity;
  calibration.scale = upscaler.scale;
  calibration.settings = args.settings;
  calibration.data = conformal::describe_units(args.units.data, units, loop.files, loop.units);
  calibration.alphas = alphas;
  for (const double alpha : alphas) {
    calibration.thresholds.push_back(conformal::threshold(calibration, alpha));
  }
  conformal::save_calibration(args.output, calibration);

  const int64_t n = calibration.images();
  say(args.common, fmt::format("{} units from {} files; masks can be non-empty from alpha {:.4f} "
                               "= 3/(n+1)",
                               n, loop.files, 3.0 / static_cast<double>(n + 1)));
  say(args.common, fmt::format("{:>8}  {}", "alpha", "threshold (trusted: score < threshold)"));
  for (size_t k = 0; k < alphas.size(); ++k) {
    say(args.common,
        fmt::format("{:>8.4g}  {}", alphas[k], threshold_text(calibration.thresholds[k])));
  }
  say(args.common, fmt::format("wrote {} (model runs {:.1f} s, calibration {:.3f} s)", args.output,
                               inference_seconds, sweep_seconds));
  if (args.common.json) {
    auto document = conformal::to_json(calibration);
    document.erase("risk_curve");
    document["file"] = args.output;
    document["failed_files"] = loop.failed;
    document["seconds"] = {{"model_runs", inference_seconds}, {"calibration", sweep_seconds}};
    print_json(document);
  }
  return loop.failed > 0 ? kExitSomeFailed : kExitOk;
}

}  // namespace

void register_calibrate(CLI::App& app, Runner& run) {
  auto args = std::make_shared<CalibrateArgs>();
  auto* command = app.add_subcommand(
      "calibrate", "calibrate confidence masks for a model on HR images (conformal guarantee)");
  add_upscaler_flags(*command, args->upscaler);
  add_unit_flags(*command, args->units);
  command->add_option("--alpha", args->alphas, "levels to calibrate, e.g. 0.05,0.1,0.2")
      ->capture_default_str();
  auto& s = args->settings;
  command
      ->add_option("--samples", s.ensemble.samples,
                   "outputs per image for the score: flips/rotations, then shifted/noisy ones; "
                   "a generative model's samples of seeds 0, 1, ... (its spread)")
      ->check(at_least(1))
      ->capture_default_str();
  command->add_option("--shift", s.ensemble.shift, "random input shift of samples, LR pixels")
      ->check(at_least(0))
      ->capture_default_str();
  command->add_option("--noise", s.ensemble.noise, "Gaussian input noise of samples (0..1 scale)")
      ->check(at_least(0))
      ->capture_default_str();
  command->add_option("--seed", s.ensemble.seed, "seed of the shifts and noise")
      ->capture_default_str();
  command
      ->add_option("--spread", args->spread,
                   "generative models: what the score spreads over: seeds (samples of seeds 0, "
                   "1, ...), flips (flips and rotations of the sample of seed 0) or both")
      ->each([args](const std::string& v) { args->spread_given = v; })
      ->capture_default_str();
  add_sampling_flags(*command, args->upscaler, /*seed=*/false);
  command->add_option("--score-space", args->score_space, "variance measured in: lab or rgb")
      ->capture_default_str();
  command->add_option("--score-kernel", s.score.kernel, "box side K of the patch variance (odd)")
      ->check(odd_positive())
      ->capture_default_str();
  command
      ->add_option("--score-clip", s.score.clip_quantile,
                   "clip each score map at this quantile (1 = off)")
      ->check(unit_interval_above_zero())
      ->capture_default_str();
  command->add_option("--score-blur", s.score.blur_sigma, "Gaussian sigma smoothing the score")
      ->check(at_least(0))
      ->capture_default_str();
  command->add_option("--fidelity", args->fidelity, "error measure: lab, lab-neighbourhood or rgb")
      ->capture_default_str();
  command->add_option("--fidelity-kernel", s.fidelity.kernel, "box side for lab-neighbourhood")
      ->check(odd_positive())
      ->capture_default_str();
  command
      ->add_option("--fidelity-blur", s.fidelity.blur_sigma,
                   "Gaussian sigma smoothing the error map (0 = off)")
      ->check(at_least(0))
      ->capture_default_str();
  command->add_option("-o,--output", args->output, "calibration file to write (.json)")->required();
  command->add_flag("--overwrite", args->overwrite, "replace an existing calibration file");
  add_common_flags(*command, args->common);
  command->callback([args, &run] { run = [args] { return run_calibrate(*args); }; });
}

}  // namespace srkit::cli
