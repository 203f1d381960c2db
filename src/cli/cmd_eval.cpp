// srkit eval TEST REF: PSNR, SSIM and LSD of images against references, per image and mean;
// --task depth|pan|mri gives the guided task's own metrics instead (eval_guided.cpp), and
// --no-reference scores images without references (eval_no_reference.cpp).
#include <cmath>
#include <map>

#include <fmt/format.h>
#include <torch/torch.h>

#include "eval_flags.h"
#include "flag_checks.h"
#include "srkit/engine/batch.h"
#include "srkit/io/image_io.h"
#include "srkit/metrics/metric.h"

namespace srkit::cli {
namespace {

// A file's name without its extension(s): "t1.nii.gz" and "t1.png" both give "t1".
std::string pairing_name(const std::filesystem::path& file) {
  auto stem = file.stem();
  if (stem.extension() == ".nii") stem = stem.stem();
  return stem.string();
}

}  // namespace

std::vector<EvalPair> pair_inputs(const EvalArgs& args,
                                  const std::function<bool(const std::filesystem::path&)>& accept,
                                  std::vector<std::string>& unmatched) {
  const std::filesystem::path test(args.test), reference(args.reference);
  if (!std::filesystem::is_directory(test)) return {{test, reference}};
  if (!std::filesystem::is_directory(reference)) {
    throw usage_error(args.reference + ": give a folder of references to compare with the folder " +
                      args.test);
  }
  std::map<std::string, std::filesystem::path> references;
  for (const auto& file : expand_inputs({args.reference}, accept)) {
    references[pairing_name(file)] = file;
  }
  std::vector<EvalPair> pairs;
  for (const auto& file : expand_inputs({args.test}, accept)) {
    const auto match = references.find(pairing_name(file));
    if (match == references.end()) {
      unmatched.push_back(file.string());
    } else {
      pairs.push_back({file, match->second});
    }
  }
  return pairs;
}

torch::Tensor align_reference(const torch::Tensor& reference, const torch::Tensor& test,
                              int64_t scale, const std::filesystem::path& path) {
  const int64_t dh = reference.size(1) - test.size(1), dw = reference.size(2) - test.size(2);
  if (dh == 0 && dw == 0) return reference;
  if (scale > 0 && dh >= 0 && dw >= 0 && dh < scale && dw < scale) {
    return reference.slice(1, 0, test.size(1)).slice(2, 0, test.size(2));
  }
  throw input_error(path.string(),
                    fmt::format("is {}x{} but the reference is {}x{}", test.size(2), test.size(1),
                                reference.size(2), reference.size(1)),
                    "compare images of the same size");
}

void evaluate_pairs(const std::vector<EvalPair>& pairs,
                    const std::function<void(const EvalPair&)>& evaluate, int& failed) {
  for (const auto& pair : pairs) {
    try {
      evaluate(pair);
    } catch (const Error& e) {
      ++failed;
      print_error(describe(e));
    } catch (const c10::Error& e) {
      ++failed;
      print_error(pair.test.string() + ": " + e.what_without_backtrace());
    }
  }
}

namespace {

std::string format_db(double value) {
  return std::isfinite(value) ? fmt::format("{:.4f}", value) : "inf";
}

int run_eval(EvalArgs args) {
  apply_runtime(args.common);
  if (args.no_reference || !args.fit_niqe.empty()) {
    if (!args.task.empty())
      throw usage_error("--task compares with references: drop --no-reference");
    return run_no_reference_eval(args);
  }
  if (args.inputs.size() != 2) {
    throw usage_error(fmt::format(
        "give TEST and REF (got {} paths); to score images without references add --no-reference",
        args.inputs.size()));
  }
  args.test = args.inputs[0];
  args.reference = args.inputs[1];
  if (!args.task.empty()) return run_guided_eval(args);
  MetricOptions protocol;
  protocol.crop_border = args.crop >= 0 ? args.crop : std::max<int64_t>(0, args.scale);
  protocol.y_channel = !args.rgb;
  const std::string protocol_text = fmt::format(
      "{}, 0..255, border crop {} px; SSIM Gaussian 11x11 sigma 1.5 (valid); LSD on {} in "
      "[0,1]",
      protocol.y_channel ? "BT.601 Y" : "RGB", protocol.crop_border,
      protocol.y_channel ? "Y" : "RGB");
  std::vector<std::string> unmatched;
  const auto pairs = pair_inputs(args, {}, unmatched);
  for (const auto& name : unmatched) print_error(name + ": no reference with the same name");

  nlohmann::json rows = nlohmann::json::array();
  double sum_psnr = 0, sum_ssim = 0, sum_lsd = 0;
  int counted = 0, failed = static_cast<int>(unmatched.size());
  std::vector<std::string> csv_lines{"test,reference,psnr,ssim,lsd"};
  if (!args.common.quiet && !args.common.json) {
    fmt::print(stderr, "{:<40} {:>10} {:>8} {:>8}\n", "image", "PSNR dB", "SSIM", "LSD dB");
  }
  evaluate_pairs(
      pairs,
      [&](const EvalPair& pair) {
        auto test = read_image(pair.test).pixels;
        auto reference = read_image(pair.reference).pixels;
        // Upscalers and degradations give RGB for an RGBA photo: its colours are what is compared.
        if (test.size(0) == 4 && reference.size(0) == 3) test = test.slice(0, 0, 3);
        if (reference.size(0) == 4 && test.size(0) == 3) reference = reference.slice(0, 0, 3);
        if (test.size(0) != reference.size(0)) {
          throw input_error(pair.test.string(), "has a different channel count than its reference");
        }
        reference = align_reference(reference, test, args.scale, pair.test);
        const double p = psnr(test, reference, protocol), s = ssim(test, reference, protocol),
                     l = lsd(test, reference, protocol);
        rows.push_back({{"test", pair.test.string()},
                        {"reference", pair.reference.string()},
                        {"psnr", finite_or_null(p)},
                        {"ssim", s},
                        {"lsd", l}});
        csv_lines.push_back(fmt::format("{},{},{},{:.6f},{:.6f}", pair.test.string(),
                                        pair.reference.string(), format_db(p), s, l));
        if (!args.common.quiet && !args.common.json) {
          fmt::print(stderr, "{:<40} {:>10} {:>8.4f} {:>8.4f}\n", pair.test.filename().string(),
                     format_db(p), s, l);
        }
        sum_psnr += p;
        sum_ssim += s;
        sum_lsd += l;
        ++counted;
      },
      failed);
  const double mean_psnr = counted ? sum_psnr / counted : NAN;
  const double mean_ssim = counted ? sum_ssim / counted : NAN;
  const double mean_lsd = counted ? sum_lsd / counted : NAN;
  if (!args.common.quiet && !args.common.json) {
    fmt::print(stderr, "{:<40} {:>10} {:>8.4f} {:>8.4f}\n", fmt::format("mean of {}", counted),
               format_db(mean_psnr), mean_ssim, mean_lsd);
    fmt::print(stderr, "protocol: {}\n", protocol_text);
  }
  if (!args.csv.empty()) {
    write_lines(args.csv, csv_lines);
  }
  if (args.common.json) {
    print_json({{"protocol", protocol_text},
                {"crop_border", protocol.crop_border},
                {"y_channel", protocol.y_channel},
                {"images", rows},
                {"mean",
                 {{"psnr", finite_or_null(mean_psnr)},
                  {"ssim", finite_or_null(mean_ssim)},
                  {"lsd", finite_or_null(mean_lsd)},
                  {"count", counted}}},
                {"failed", failed}});
  }
  if (counted == 0 && failed == 0) throw usage_error("no image pairs to compare");
  return failed > 0 ? kExitSomeFailed : kExitOk;
}

}  // namespace

void register_eval(CLI::App& app, Runner& run) {
  auto args = std::make_shared<EvalArgs>();
  auto* command = app.add_subcommand(
      "eval",
      "PSNR/SSIM (BT.601 Y, BasicSR protocol) and LSD of images against references; BRISQUE and "
      "NIQE without them (--no-reference)");
  command
      ->add_option("inputs", args->inputs,
                   "TEST REF: image or folder to evaluate (e.g. SR outputs) and the reference "
                   "image or folder (HR); with --no-reference, images and folders to score")
      ->required();
  command->add_flag("--no-reference", args->no_reference,
                    "score images without references: BRISQUE (OpenCV, LIVE model) and NIQE "
                    "(srkit's pristine model), both lower = better");
  command->add_option(
      "--niqe-model", args->niqe_model,
      "--no-reference: the NIQE pristine model (default: models/niqe/pristine.json)");
  command->add_option("--fit-niqe", args->fit_niqe,
                      "fit a NIQE pristine model on the input photos (clean, natural, sharp) and "
                      "write it to this JSON file");
  command
      ->add_option("-s,--scale", args->scale,
                   "SR scale: crops that many border pixels (images), is ERGAS's ratio (--task "
                   "pan), and tolerates HR modcrop")
      ->check(positive());
  command
      ->add_option("--crop", args->crop,
                   "border pixels to crop (default: --scale, else 0; --task depth: 6)")
      ->check(at_least(0));
  command->add_flag("--rgb", args->rgb, "compare all channels instead of BT.601 Y");
  command->add_option("--task", args->task,
                      "depth, pan or mri: the guided task's metrics instead (depth RMSE; pan "
                      "PSNR/SAM/ERGAS/Q2n/SCC; MR PSNR/SSIM; docs/guided.md)");
  command->add_option("--slice", args->slice,
                      "--task with NIfTI files: AXIS:INDEX (default middle z)");
  command
      ->add_option("--peak", args->peak,
                   "--task pan/mri: the value that maps to 1 (default: 1 for images, else the "
                   "reference's maximum)")
      ->check(positive());
  command->add_option("--csv", args->csv, "also write per-image results to this CSV file");
  add_common_flags(*command, args->common);
  command->callback([args, &run] { run = [args] { return run_eval(*args); }; });
}

}  // namespace srkit::cli
