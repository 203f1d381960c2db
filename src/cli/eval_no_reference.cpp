// srkit eval --no-reference IMAGES...: BRISQUE (metrics/brisque.h) and NIQE (metrics/niqe.h) of
// each image and their means, for real photos that have no ground truth; both are lower = better.
// srkit eval --fit-niqe MODEL.json PHOTOS...: fits a NIQE pristine model on clean photos (how
// models/niqe/pristine.json was made, docs/models.md).
#include <cmath>

#include <fmt/format.h>
#include <torch/torch.h>

#include "eval_flags.h"
#include "srkit/engine/batch.h"
#include "srkit/io/image_io.h"
#include "srkit/metrics/brisque.h"
#include "srkit/metrics/niqe.h"

namespace srkit::cli {
namespace {

int fit_niqe_model(const EvalArgs& args) {
  // The folder is made (or refused) before the fit, which takes a while on many photos.
  const auto folder = std::filesystem::path(args.fit_niqe).parent_path();
  std::error_code error;
  if (!folder.empty() && !std::filesystem::is_directory(folder, error)) {
    std::filesystem::create_directories(folder, error);
    if (error) {
      throw output_error(args.fit_niqe, "its folder cannot be created: " + error.message(),
                         "choose a writable place for --fit-niqe");
    }
  }
  const auto files = expand_inputs(args.inputs);
  std::vector<torch::Tensor> photos;
  std::vector<std::string> names;
  for (const auto& file : files) {
    photos.push_back(read_image(file).pixels);
    names.push_back(file.filename().string());
  }
  const auto description =
      fmt::format("{} photos: {}", photos.size(), fmt::join(names.begin(), names.end(), ", "));
  const auto model = fit_niqe(photos, description);
  write_niqe_model(args.fit_niqe, model);
  if (args.common.json) {
    print_json({{"model", args.fit_niqe}, {"photos", photos.size()}, {"patches", model.patches}});
  } else if (!args.common.quiet) {
    fmt::print(stderr, "NIQE pristine model from {} sharp patches of {} photos: {}\n",
               model.patches, photos.size(), args.fit_niqe);
  }
  return kExitOk;
}

}  // namespace

int run_no_reference_eval(const EvalArgs& args) {
  if (!args.fit_niqe.empty()) return fit_niqe_model(args);
  if (args.scale != 0 || args.crop >= 0 || args.rgb) {
    throw usage_error(
        "--scale, --crop and --rgb compare with references: drop them with "
        "--no-reference");
  }
  const std::filesystem::path model_path =
      args.niqe_model.empty() ? default_niqe_model_path() : std::filesystem::path(args.niqe_model);
  const auto niqe_model = read_niqe_model(model_path);
  Brisque brisque;

  std::vector<EvalPair> images;
  for (const auto& file : expand_inputs(args.inputs)) images.push_back({file, {}});
  const bool table = !args.common.quiet && !args.common.json;
  if (table) fmt::print(stderr, "{:<40} {:>8} {:>8}\n", "image", "BRISQUE", "NIQE");
  nlohmann::json rows = nlohmann::json::array();
  std::vector<std::string> csv_lines{"image,brisque,niqe"};
  double sum_brisque = 0, sum_niqe = 0;
  int counted = 0, failed = 0;
  evaluate_pairs(
      images,
      [&](const EvalPair& pair) {
        const auto image = read_image(pair.test).pixels;
        const double b = brisque.score(image);
        const double n = niqe(image, niqe_model, pair.test.string());
        rows.push_back({{"image", pair.test.string()}, {"brisque", b}, {"niqe", n}});
        csv_lines.push_back(fmt::format("{},{:.4f},{:.4f}", pair.test.string(), b, n));
        if (table)
          fmt::print(stderr, "{:<40} {:>8.3f} {:>8.3f}\n", pair.test.filename().string(), b, n);
        sum_brisque += b;
        sum_niqe += n;
        ++counted;
      },
      failed);
  const double mean_brisque = counted ? sum_brisque / counted : NAN;
  const double mean_niqe = counted ? sum_niqe / counted : NAN;
  const std::string protocol = fmt::format(
      "BRISQUE: OpenCV quality module, LIVE model, 8-bit luma; NIQE: 96x96 patches at two scales, "
      "pristine model {}",
      model_path.string());
  if (table) {
    fmt::print(stderr, "{:<40} {:>8.3f} {:>8.3f}\n", fmt::format("mean of {}", counted),
               mean_brisque, mean_niqe);
    fmt::print(stderr, "protocol: {}; lower = better\n", protocol);
  }
  if (!args.csv.empty()) write_lines(args.csv, csv_lines);
  if (args.common.json) {
    print_json({{"protocol", protocol},
                {"images", rows},
                {"mean",
                 {{"brisque", finite_or_null(mean_brisque)},
                  {"niqe", finite_or_null(mean_niqe)},
                  {"count", counted}}},
                {"failed", failed}});
  }
  if (counted == 0 && failed == 0) throw usage_error("no images to score");
  return failed > 0 ? kExitSomeFailed : kExitOk;
}

}  // namespace srkit::cli
