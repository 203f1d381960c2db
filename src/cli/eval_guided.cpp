// srkit eval --task depth|pan|mri TEST REF: a guided task's own metrics (metrics/guided_metrics.h)
// for a user's results against references, in any format `srkit guide` reads and writes:
//   depth  RMSE in the map's units over the known pixels (reference 0 or not finite = unknown, the
//          convention of depth sensors and datasets), 6 pixels cut off every side (--crop);
//   pan    PSNR, SAM, ERGAS (ratio -s), Q2^n, SCC, both files divided by one peak;
//   mri    PSNR and SSIM on 0..255 of values divided by the peak, no crop.
// The peak (--peak) defaults to 1 for images (already in [0,1]) and to the reference's maximum
// otherwise, which is the benchmark's scaling of its MS and MR data (docs/guided.md).
#include <cmath>

#include <fmt/format.h>
#include <torch/torch.h>

#include "eval_flags.h"
#include "srkit/io/guided_files.h"
#include "srkit/metrics/guided_metrics.h"

namespace srkit::cli {
namespace {

constexpr int64_t kDepthCrop = 6;

struct ComparedValues {
  torch::Tensor test, reference;  // [C, H, W], scaled for the task's metrics
};

// Reads one pair and brings both to the task's metric scale.
ComparedValues read_pair(const EvalArgs& args, GuidedTask task, const EvalPair& pair) {
  const auto test = read_guided_file(pair.test, task, /*is_target=*/true, args.slice);
  const auto reference = read_guided_file(pair.reference, task, /*is_target=*/true, args.slice);
  if (test.values.size(0) != reference.values.size(0)) {
    throw input_error(pair.test.string(),
                      fmt::format("has {} channels but its reference {} has {}",
                                  test.values.size(0), pair.reference.string(),
                                  reference.values.size(0)),
                      "compare a result with the reference of the same bands");
  }
  ComparedValues values{test.values,
                        align_reference(reference.values, test.values, args.scale, pair.test)};
  if (task == GuidedTask::kDepth) {
    values.reference = torch::where(values.reference == 0,
                                     torch::full({}, NAN, values.reference.options()),
                                     values.reference);
    return values;
  }
  const int64_t non_finite = (~torch::isfinite(values.reference)).sum().item<int64_t>();
  if (non_finite > 0) {
    throw input_error(pair.reference.string(),
                      fmt::format("has {} values that are not finite", non_finite),
                      "only depth maps may mark unknown pixels; give a complete reference");
  }
  double peak = args.peak;
  if (peak <= 0) {
    peak = reference.kind == GuidedFileKind::kImage ? 1.0
                                                    : values.reference.max().item<double>();
  }
  if (!(peak > 0)) {
    throw input_error(pair.reference.string(), "has no positive value to scale by",
                      "give the value that maps to 1 with --peak");
  }
  values.test = values.test / peak;
  values.reference = values.reference / peak;
  if (args.crop > 0) {
    const int64_t c = args.crop, h = values.test.size(1), w = values.test.size(2);
    if (2 * c >= h || 2 * c >= w) {
      throw usage_error(fmt::format("--crop {} leaves nothing of {}", c, pair.test.string()));
    }
    values.test = values.test.slice(1, c, h - c).slice(2, c, w - c);
    values.reference = values.reference.slice(1, c, h - c).slice(2, c, w - c);
  }
  return values;
}

// Pixel counts as integers, metrics with 4 decimals.
std::string format_value(const std::string& metric, double value) {
  if (!std::isfinite(value)) return fmt::format("{}", value);
  const bool count = metric == "compared" || metric == "unknown";
  return count ? fmt::format("{:.0f}", value) : fmt::format("{:.4f}", value);
}

nlohmann::json metrics_json(const NamedValues& metrics) {
  nlohmann::json json = nlohmann::json::object();
  for (const auto& [name, value] : metrics) json[name] = finite_or_null(value);
  return json;
}

}  // namespace

int run_guided_eval(const EvalArgs& args) {
  const auto task = parse_guided_task(args.task);
  if (task == GuidedTask::kPan && args.scale < 1) {
    throw usage_error(
        "--task pan needs -s, the resolution ratio of the pan to the MS (ERGAS uses it)");
  }
  if (args.rgb) throw usage_error("--rgb is for images; --task compares every band");
  const int64_t depth_crop = args.crop >= 0 ? args.crop : kDepthCrop;
  std::vector<std::string> unmatched;
  const auto pairs = pair_inputs(args, is_guided_file_path, unmatched);
  for (const auto& name : unmatched) print_error(name + ": no reference with the same name");

  const bool table = !args.common.quiet && !args.common.json;
  std::vector<NamedValues> results;
  nlohmann::json rows = nlohmann::json::array();
  std::vector<std::string> csv_lines;
  int failed = static_cast<int>(unmatched.size());
  evaluate_pairs(pairs, [&](const EvalPair& pair) {
    const auto values = read_pair(args, task, pair);
    const auto metrics = guided_metrics(task, values.test, values.reference,
                                        std::max<int64_t>(1, args.scale), depth_crop);
    if (results.empty()) {
      std::string header = "test,reference";
      for (const auto& metric : metrics) header += "," + metric.first;
      csv_lines.push_back(header);
      if (table) {
        std::string columns = fmt::format("{:<40}", "file");
        for (const auto& metric : metrics) columns += fmt::format(" {:>10}", metric.first);
        fmt::print(stderr, "{}\n", columns);
      }
    }
    std::string line = pair.test.string() + "," + pair.reference.string();
    std::string printed = fmt::format("{:<40}", pair.test.filename().string());
    for (const auto& metric : metrics) {
      line += "," + format_value(metric.first, metric.second);
      printed += fmt::format(" {:>10}", format_value(metric.first, metric.second));
    }
    csv_lines.push_back(line);
    if (table) fmt::print(stderr, "{}\n", printed);
    rows.push_back({{"test", pair.test.string()},
                    {"reference", pair.reference.string()},
                    {"metrics", metrics_json(metrics)}});
    results.push_back(metrics);
  }, failed);
  const auto mean = mean_guided_metrics(results);
  const std::string protocol =
      task == GuidedTask::kDepth
          ? fmt::format("depth RMSE in the map's units, {} px cut off every side, reference 0 or "
                        "non-finite = unknown (not compared)", depth_crop)
          : fmt::format("{} of values / peak ({}), {}", task == GuidedTask::kPan
                                                            ? "PSNR, SAM (deg), ERGAS (ratio " +
                                                                  std::to_string(args.scale) +
                                                                  "), Q2^n, SCC"
                                                            : "PSNR/SSIM on 0..255",
                        args.peak > 0 ? fmt::format("{}", args.peak)
                                      : "1 for images, else the reference's maximum",
                        args.crop > 0 ? fmt::format("{} px border crop", args.crop) : "no crop");
  if (table && !results.empty()) {
    std::string printed = fmt::format("{:<40}", fmt::format("mean of {}", results.size()));
    for (const auto& metric : mean) {
      printed += fmt::format(" {:>10}", format_value(metric.first, metric.second));
    }
    fmt::print(stderr, "{}\nprotocol: {}\n", printed, protocol);
  }
  if (!args.csv.empty()) write_lines(args.csv, csv_lines);
  if (args.common.json) {
    print_json({{"task", guided_task_info(task).name},
                {"protocol", protocol},
                {"pairs", rows},
                {"mean", metrics_json(mean)},
                {"count", results.size()},
                {"failed", failed}});
  }
  if (results.empty() && failed == 0) throw usage_error("no pairs of files to compare");
  return failed > 0 ? kExitSomeFailed : kExitOk;
}

}  // namespace srkit::cli
