#include "conformal_units.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "flag_checks.h"
#include "srkit/io/image_io.h"

namespace srkit::cli {

void add_unit_flags(CLI::App& command, UnitFlags& flags) {
  command.add_option("--data", flags.data, "folder of high-resolution images (ground truth)")
      ->required();
  command.add_option("--lr", flags.lr,
                     "folder of their low-resolution inputs, same names (default: bicubic "
                     "downscaling of --data)");
  command
      .add_option("--crop", flags.crop,
                  "use square HR crops of this side as the units instead of whole images")
      ->check(at_least(0));
}

conformal::UnitOptions unit_options(const UnitFlags& flags, double scale) {
  if (scale != std::round(scale) || scale < 1) {
    throw usage_error("calibration needs an integer --scale (LR images are HR / scale)");
  }
  conformal::UnitOptions options;
  options.scale = static_cast<int64_t>(scale);
  options.crop = flags.crop;
  options.lr_folder = flags.lr;
  if (flags.crop < 0 || flags.crop % options.scale != 0) {
    throw usage_error("--crop must be a multiple of the scale (" + std::to_string(options.scale) +
                      ")");
  }
  return options;
}

std::vector<double> parse_alphas(const std::string& text) {
  std::vector<double> alphas;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    try {
      size_t used = 0;
      const double alpha = std::stod(item, &used);
      if (used != item.size() || !(alpha > 0)) throw std::invalid_argument(item);
      alphas.push_back(alpha);
    } catch (const std::exception&) {
      throw usage_error("--alpha " + text + ": give positive numbers separated by commas");
    }
  }
  if (alphas.empty()) throw usage_error("--alpha needs at least one value");
  std::sort(alphas.begin(), alphas.end());
  alphas.erase(std::unique(alphas.begin(), alphas.end()), alphas.end());
  return alphas;
}

UnitLoop for_each_unit(
    const UnitFlags& flags, const conformal::UnitOptions& options, const CommonFlags& common,
    const std::function<void(const conformal::ImageUnit& unit, const std::string& label)>& visit) {
  UnitLoop loop;
  const auto files = list_image_files(flags.data);
  for (size_t i = 0; i < files.size(); ++i) {
    try {
      const auto units = conformal::image_units(files[i], options);
      for (size_t u = 0; u < units.size(); ++u) {
        const auto label = units.size() == 1
                               ? fmt::format("[{}/{}] {}", i + 1, files.size(), units[u].name)
                               : fmt::format("[{}/{}] {} ({}/{})", i + 1, files.size(),
                                             files[i].filename().string(), u + 1, units.size());
        visit(units[u], label);
        ++loop.units;
      }
      ++loop.files;
    } catch (const Error& e) {
      clear_progress_line(common);
      if (e.kind() == ErrorKind::kInput || e.kind() == ErrorKind::kOutput) {
        ++loop.failed;
        print_error(describe(e));
        continue;
      }
      throw;
    } catch (const c10::Error& e) {
      clear_progress_line(common);
      ++loop.failed;
      print_error(files[i].string() + ": " + e.what_without_backtrace());
    }
  }
  clear_progress_line(common);
  return loop;
}

conformal::ScoredPrediction predict_with_score(const Upscaler& upscaler, uint64_t seed,
                                               const torch::Tensor& lr,
                                               const conformal::ConfidenceSettings& settings,
                                               const ProgressFn& progress) {
  if (!upscaler.generative()) {
    return conformal::predict_with_score(upscaler.run, lr, upscaler.scale, settings, progress);
  }
  const conformal::SampleFn sampler = [&upscaler](const torch::Tensor& input, uint64_t seed) {
    return upscaler.sample(input, seed, {}, nullptr);
  };
  return conformal::predict_with_score(sampler, seed, lr, upscaler.scale, settings, progress);
}

}  // namespace srkit::cli
