// srkit conformal-eval: checks a calibration on held-out images. Per alpha: the mean worst error
// inside the mask (with a bootstrap interval), the trusted fraction, PSNR inside the mask against
// the whole image, and the paper's bounds; optionally as PNG plots.
#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>
#include <torch/torch.h>

#include "common.h"
#include "conformal_units.h"
#include "flag_checks.h"
#include "srkit/conformal/calibration_file.h"
#include "srkit/io/line_plot.h"
#include "srkit/metrics/bootstrap.h"
#include "srkit/metrics/metric.h"
#include "srkit/models/registry.h"
#include "upscaler_flags.h"

namespace srkit::cli {
namespace {

struct EvalArgs {
  std::string calibration;
  UnitFlags units;
  bool crop_given = false;
  std::string alphas;
  int64_t leaked = 0;
  std::string plots;
  int bootstrap = 1000;
  UpscalerFlags upscaler;
  std::string model;  // the calibrated model's file, when it is not a registered one
  CommonFlags common;
};

// Per alpha, one value per test unit.
struct PerAlpha {
  std::vector<double> risk, trusted, psnr_mask;
};

std::vector<double> alpha_grid(const EvalArgs& args, const conformal::Calibration& calibration) {
  std::set<double> grid;
  if (!args.alphas.empty()) {
    const auto given = parse_alphas(args.alphas);
    grid.insert(given.begin(), given.end());
  } else {
    grid.insert(calibration.alphas.begin(), calibration.alphas.end());
    // k * 25 / 1000, not 0.025 * k: the doubles of "0.3" and of a calibration's 0.3, not
    // 0.30000000000000004 beside them.
    for (int k = 1; k <= 20; ++k) grid.insert(k * 25 / 1000.0);
  }
  return {grid.begin(), grid.end()};
}

// PSNR in RGB over the pixels of the mask (gray as R=G=B, alpha ignored).
double rgb_psnr_in_mask(const torch::Tensor& truth, const torch::Tensor& prediction,
                        const torch::Tensor& mask) {
  using conformal::ColourSpace;
  return psnr_in_mask(conformal::colour_planes(prediction, ColourSpace::kRgb),
                      conformal::colour_planes(truth, ColourSpace::kRgb), mask);
}

nlohmann::json interval_json(const MeanInterval& m) {
  return {{"mean", finite_or_null(m.mean)},
          {"ci95", {finite_or_null(m.low), finite_or_null(m.high)}},
          {"count", m.count}};
}

void write_plots(const std::filesystem::path& folder, const std::vector<double>& alphas,
                 const std::vector<MeanInterval>& risk, const std::vector<MeanInterval>& trusted,
                 const std::vector<MeanInterval>& psnr_mask, double psnr_whole, bool psnr_bound,
                 const std::string& title) {
  std::filesystem::create_directories(folder);
  const auto column = [](const std::vector<MeanInterval>& v, double MeanInterval::*field) {
    std::vector<double> out;
    for (const auto& m : v) out.push_back(m.*field);
    return out;
  };
  LinePlot r{"Risk vs alpha: " + title, "alpha", "mean worst error inside the mask (95% CI)", {}};
  r.series.push_back({"measured", alphas, column(risk, &MeanInterval::mean),
                      column(risk, &MeanInterval::low), column(risk, &MeanInterval::high)});
  r.series.push_back({"y = alpha (guarantee)", alphas, alphas, {}, {}, true, false});
  save_line_plot(folder / "risk_vs_alpha.png", r);

  LinePlot t{
      "Trusted fraction vs alpha: " + title, "alpha", "fraction of pixels trusted (95% CI)", {}};
  t.series.push_back({"trusted", alphas, column(trusted, &MeanInterval::mean),
                      column(trusted, &MeanInterval::low), column(trusted, &MeanInterval::high)});
  save_line_plot(folder / "trusted_vs_alpha.png", t);

  LinePlot p{"PSNR vs alpha: " + title, "alpha", "PSNR (dB, RGB)", {}};
  p.series.push_back({"inside the mask", alphas, column(psnr_mask, &MeanInterval::mean),
                      column(psnr_mask, &MeanInterval::low),
                      column(psnr_mask, &MeanInterval::high)});
  p.series.push_back({"whole image",
                      alphas,
                      std::vector<double>(alphas.size(), psnr_whole),
                      {},
                      {},
                      false,
                      false});
  std::vector<double> bound;
  for (const double a : alphas) bound.push_back(-20.0 * std::log10(a));
  p.series.push_back(
      {psnr_bound ? "bound -20 log10(alpha)" : "-20 log10(alpha), no bound for this D",
       alphas,
       bound,
       {},
       {},
       true,
       false});
  save_line_plot(folder / "psnr_vs_alpha.png", p);
}

int run_eval(EvalArgs args) {
  const auto device = apply_runtime(args.common);
  const auto calibration = conformal::load_calibration(args.calibration);
  if (calibration.model.contains("command")) {
    args.upscaler.model_cmd = calibration.model.at("command").get<std::string>();
  } else if (!args.model.empty()) {
    args.upscaler.model = args.model;  // check_same_model compares its checksum below
  } else {
    const auto name = calibration.model.at("name").get<std::string>();
    const auto& all = known_models();
    if (std::none_of(all.begin(), all.end(), [&](const auto& e) { return e.name == name; })) {
      throw usage_error(args.calibration + " was calibrated for " + name +
                        ", which is not a registered model: give its file with --model");
    }
    args.upscaler.model = name;
  }
  args.upscaler.scale = calibration.scale;
  const auto upscaler = make_upscaler(args.upscaler, device, args.common.quiet);
  conformal::check_same_model(calibration, args.calibration, upscaler.identity, upscaler.scale);
  if (!args.crop_given) args.units.crop = calibration.data.value("crop", int64_t{0});
  const auto units = unit_options(args.units, upscaler.scale);
  const int64_t n = calibration.images();
  if (args.leaked < 0 || args.leaked >= n) {
    throw usage_error("--leaked must be in [0, " + std::to_string(n) + ")");
  }
  const auto alphas = alpha_grid(args, calibration);
  std::vector<float> thresholds;
  for (const double a : alphas) thresholds.push_back(conformal::threshold(calibration, a));

  std::vector<PerAlpha> per_alpha(alphas.size());
  std::vector<double> psnr_whole;
  const auto loop = for_each_unit(
      args.units, units, args.common,
      [&](const conformal::ImageUnit& unit, const std::string& label) {
        const auto scored =
            predict_with_score(upscaler, upscaler.seed, unit.lr, calibration.settings,
                               progress_printer(args.common, label));
        const auto errors =
            conformal::fidelity_map(unit.hr, scored.prediction, calibration.settings.fidelity);
        const auto everything = torch::ones_like(errors, torch::kBool);
        psnr_whole.push_back(rgb_psnr_in_mask(unit.hr, scored.prediction, everything));
        for (size_t k = 0; k < alphas.size(); ++k) {
          const auto mask = conformal::trusted_mask(scored.score, thresholds[k]);
          per_alpha[k].risk.push_back(conformal::worst_error_in_mask(errors, mask));
          per_alpha[k].trusted.push_back(mask.to(torch::kFloat64).mean().item<double>());
          per_alpha[k].psnr_mask.push_back(rgb_psnr_in_mask(unit.hr, scored.prediction, mask));
        }
      });
  if (loop.units == 0) throw usage_error("no usable images in " + args.units.data);

  const bool psnr_bound = conformal::bounds_psnr(calibration.settings.fidelity);
  const auto whole = bootstrap_mean(psnr_whole, args.bootstrap);
  std::vector<MeanInterval> risk, trusted, psnr_mask;
  nlohmann::json rows = nlohmann::json::array();
  say(args.common,
      fmt::format("{} test units from {} files; calibration n = {}; fidelity {}", loop.units,
                  loop.files, n, conformal::to_string(calibration.settings.fidelity.metric)));
  say(args.common,
      fmt::format("{:>7} {:>11} {:>24} {:>9} {:>16} {:>9} {:>9}", "alpha", "threshold",
                  "risk (95% CI)", "trusted", "PSNR mask (n)", "PSNR all", "PSNR bnd"));
  for (size_t k = 0; k < alphas.size(); ++k) {
    const double a = alphas[k];
    const uint64_t seed = 1000 + k;
    risk.push_back(bootstrap_mean(per_alpha[k].risk, args.bootstrap, 0.95, seed));
    trusted.push_back(bootstrap_mean(per_alpha[k].trusted, args.bootstrap, 0.95, seed));
    psnr_mask.push_back(bootstrap_mean(per_alpha[k].psnr_mask, args.bootstrap, 0.95, seed));
    const double bound = -20.0 * std::log10(a);
    nlohmann::json row = {
        {"alpha", a},
        {"threshold", conformal::threshold_to_json(thresholds[k])},
        {"empty_mask", thresholds[k] == conformal::kEmptyMask},
        {"risk", interval_json(risk.back())},
        {"risk_at_most_alpha", risk.back().mean <= a},
        {"trusted_fraction", interval_json(trusted.back())},
        {"psnr_mask", interval_json(psnr_mask.back())},
        {"psnr_mask_units_excluded", static_cast<int64_t>(loop.units) - psnr_mask.back().count},
        {"psnr_whole", finite_or_null(whole.mean)},
        {"psnr_bound", bound},
        {"psnr_bound_applies", psnr_bound}};
    if (args.leaked > 0) {
      row["leakage_bound"] =
          a * static_cast<double>(n + 1) / static_cast<double>(n - args.leaked + 1);
    }
    rows.push_back(row);
    say(args.common,
        fmt::format("{:>7.4g} {:>11.4g} {:>8.4f} [{:.4f}, {:.4f}] {:>8.1f}% {:>9.2f} ({:>3}) "
                    "{:>9.2f} {:>9}",
                    a, thresholds[k], risk.back().mean, risk.back().low, risk.back().high,
                    100 * trusted.back().mean, psnr_mask.back().mean, psnr_mask.back().count,
                    whole.mean, psnr_bound ? fmt::format("{:.2f}", bound) : "n/a"));
  }
  if (!psnr_bound) {
    say(args.common,
        "PSNR bound: holds only for --fidelity rgb without blur (pointwise, same "
        "colour space as PSNR)");
  }
  if (args.leaked > 0) {
    say(args.common,
        fmt::format("with {} of the {} calibration units leaked from training, the "
                    "guarantee loosens to alpha x {:.4f}",
                    args.leaked, n,
                    static_cast<double>(n + 1) / static_cast<double>(n - args.leaked + 1)));
  }
  if (!args.plots.empty()) {
    write_plots(args.plots, alphas, risk, trusted, psnr_mask, whole.mean, psnr_bound,
                upscaler.name + " x" + fmt::format("{}", upscaler.scale));
    say(args.common, "plots in " + args.plots);
  }
  if (args.common.json) {
    print_json({{"calibration", args.calibration},
                {"calibration_images", n},
                {"model", calibration.model},
                {"scale", calibration.scale},
                {"test", conformal::describe_units(args.units.data, units, loop.files, loop.units)},
                {"failed_files", loop.failed},
                {"leaked", args.leaked},
                {"bootstrap_resamples", args.bootstrap},
                {"psnr_whole", interval_json(whole)},
                {"alphas", rows}});
  }
  return loop.failed > 0 ? kExitSomeFailed : kExitOk;
}

}  // namespace

void register_conformal_eval(CLI::App& app, Runner& run) {
  auto args = std::make_shared<EvalArgs>();
  auto* command = app.add_subcommand(
      "conformal-eval", "check a calibration on held-out images: risk, trusted fraction, PSNR");
  command->add_option("--calibration", args->calibration, "file from `srkit calibrate`")
      ->required();
  add_unit_flags(*command, args->units);
  command->get_option("--crop")->description("HR crop side of the units (default: as calibrated)");
  command->add_option("--alpha", args->alphas,
                      "levels to evaluate (default: the calibration's and 0.025..0.5)");
  command
      ->add_option("--leaked", args->leaked,
                   "calibration units that came from the model's training data (Prop. 3.2)")
      ->check(at_least(0));
  command->add_option("--plots", args->plots, "folder for risk/trusted/PSNR vs alpha PNG plots");
  command->add_option("--bootstrap", args->bootstrap, "bootstrap resamples for the intervals")
      ->check(at_least(1))
      ->capture_default_str();
  add_upscaler_flags(*command, args->upscaler, /*choose_model=*/false);
  add_sampling_flags(*command, args->upscaler, /*seed=*/false);
  command->add_option("--model", args->model,
                      "the calibrated model's file (.srkit or model.json) when it is not a "
                      "registered model; its checksum must match the calibration's");
  add_common_flags(*command, args->common);
  command->callback([args, command, &run] {
    args->crop_given = command->get_option("--crop")->count() > 0;
    run = [args] { return run_eval(*args); };
  });
}

}  // namespace srkit::cli
