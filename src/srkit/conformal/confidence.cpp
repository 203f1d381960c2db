#include "srkit/conformal/confidence.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/io/samples.h"
#include "srkit/ops/color.h"

namespace srkit::conformal {

nlohmann::json to_json(const ConfidenceSettings& s) {
  return {{"ensemble",
           {{"samples", s.ensemble.samples},
            {"shift", s.ensemble.shift},
            {"noise", s.ensemble.noise},
            {"seed", s.ensemble.seed},
            {"seeded", s.ensemble.seeded},
            {"transforms", s.ensemble.transforms}}},
          {"score",
           {{"kind", "patch-variance"},
            {"space", to_string(s.score.space)},
            {"kernel", s.score.kernel},
            {"clip_quantile", s.score.clip_quantile},
            {"blur_sigma", s.score.blur_sigma}}},
          {"fidelity",
           {{"metric", to_string(s.fidelity.metric)},
            {"kernel", s.fidelity.kernel},
            {"blur_sigma", s.fidelity.blur_sigma}}}};
}

ConfidenceSettings confidence_settings_from_json(const nlohmann::json& json) {
  ConfidenceSettings s;
  const auto& e = json.at("ensemble");
  s.ensemble.samples = e.at("samples").get<int>();
  s.ensemble.shift = e.at("shift").get<double>();
  s.ensemble.noise = e.at("noise").get<double>();
  s.ensemble.seed = e.at("seed").get<uint64_t>();
  s.ensemble.seeded = e.value("seeded", false);  // files written before generative models
  s.ensemble.transforms = e.value("transforms", true);
  const auto& score = json.at("score");
  s.score.space = parse_colour_space(score.at("space").get<std::string>());
  s.score.kernel = score.at("kernel").get<int64_t>();
  s.score.clip_quantile = score.at("clip_quantile").get<double>();
  s.score.blur_sigma = score.at("blur_sigma").get<double>();
  const auto& fidelity = json.at("fidelity");
  s.fidelity.metric = parse_fidelity_metric(fidelity.at("metric").get<std::string>());
  s.fidelity.kernel = fidelity.at("kernel").get<int64_t>();
  s.fidelity.blur_sigma = fidelity.at("blur_sigma").get<double>();
  return s;
}

ScoredPrediction predict_with_score(const UpscaleFn& upscaler, const torch::Tensor& lr,
                                    double scale, const ConfidenceSettings& settings,
                                    const ProgressFn& progress) {
  if (settings.ensemble.seeded) {
    throw usage_error(
        "these settings score a generative model's samples ({{EnsembleOptions::seeded}}): "
        "give its sampler, not a plain upscaler");
  }
  const SampleFn sampler = [&upscaler](const torch::Tensor& input, uint64_t) {
    return upscaler(input);
  };
  return predict_with_score(sampler, 0, lr, scale, settings, progress);
}

ScoredPrediction predict_with_score(const SampleFn& sampler, uint64_t seed, const torch::Tensor& lr,
                                    double scale, const ConfidenceSettings& settings,
                                    const ProgressFn& progress) {
  const auto augmentations = ensemble_augmentations(settings.ensemble);
  const auto total = static_cast<int64_t>(augmentations.size());
  PatchVariance variance(settings.score);
  ScoredPrediction out;
  for (int64_t k = 0; k < total; ++k) {
    if (!report(progress, k, total)) throw Error(ErrorKind::kCancelled, "interrupted");
    const auto& a = augmentations[k];
    const uint64_t sample_seed = settings.ensemble.seeded ? seed + static_cast<uint64_t>(k) : seed;
    const auto sample = restore(a, sampler(augment(a, lr), sample_seed), scale);
    if (k == 0) {
      out.prediction = sample;
    } else if (sample.sizes() != out.prediction.sizes()) {
      throw input_error("upscaler", "gave a different output size for a flipped or rotated input",
                        "use an upscaler whose output size is the input size times the scale");
    }
    variance.add(sample);
  }
  report(progress, total, total);
  out.score = variance.score();
  return out;
}

bool scores_locally(const ConfidenceSettings& settings) {
  return settings.ensemble.noise == 0 && settings.score.clip_quantile >= 1;
}

int64_t score_context(const ConfidenceSettings& settings, double scale) {
  // A shift moves the input by up to `shift` pixels, read through bicubic taps (2 more); the patch
  // and the smoothing reach kernel / 2 and 4 sigma (gaussian_blur's cut) output pixels.
  const double output_reach =
      static_cast<double>(settings.score.kernel / 2) + std::ceil(4.0 * settings.score.blur_sigma);
  return static_cast<int64_t>(std::ceil(settings.ensemble.shift)) + 2 +
         static_cast<int64_t>(std::ceil(output_reach / scale));
}

ScoringWindows plan_scoring_windows(int64_t height, int64_t width, int64_t channels, double scale,
                                    const ConfidenceSettings& settings, int64_t context,
                                    int64_t budget) {
  const auto s = static_cast<int64_t>(std::llround(scale));
  const auto scoring = [&](int64_t h, int64_t w) {
    return h * s * w * s * kScoringBytesPerOutputPixel;
  };
  ScoringWindows windows{0, context};
  if (scoring(height, width) <= budget) return windows;
  // A band of output rows holds the prediction and the score (float32); its masks and overlays
  // are made kScoredRowsAtOnce rows at a time.
  const int64_t band_bytes_per_pixel = (channels + 1) * 4;
  const int64_t row_outputs = kScoredRowsAtOnce * width * s * kRowOutputBytesPerPixel;
  const int64_t margin = context + score_context(settings, scale);
  int64_t side = std::max(height, width);
  while (side > 32) {
    const int64_t window_h = std::min(height, side + 2 * margin);
    const int64_t window_w = std::min(width, side + 2 * margin);
    const int64_t band = std::min(height, side) * s * width * s * band_bytes_per_pixel;
    if (scoring(window_h, window_w) + band + row_outputs <= budget) break;
    side = side * 7 / 8;
  }
  windows.window = std::max<int64_t>(side, 32);
  return windows;
}

namespace {

// Evenly spread cuts of [0, side) into pieces of at most `piece`.
std::vector<int64_t> even_cuts(int64_t side, int64_t piece) {
  const int64_t count = piece <= 0 ? 1 : (side + piece - 1) / piece;
  std::vector<int64_t> cuts;
  for (int64_t i = 0; i <= count; ++i) cuts.push_back(i * side / count);
  return cuts;
}

}  // namespace

void predict_with_score_in_bands(const UpscaleFn& upscaler, int64_t height, int64_t width,
                                 const InputRowsFn& rows, double scale,
                                 const ConfidenceSettings& settings, const ScoringWindows& windows,
                                 const ScoredRowsFn& sink, const ProgressFn& progress) {
  if (!scores_locally(settings)) {
    throw usage_error(
        "a score with input noise or clipping at a quantile is a property of the whole image: "
        "it cannot be computed a window at a time");
  }
  if (scale != std::round(scale) || scale < 1) {
    throw usage_error("scoring in windows needs an integer scale, not " + std::to_string(scale));
  }
  const auto s = static_cast<int64_t>(scale);
  const int64_t margin = windows.context + score_context(settings, scale);
  const auto row_cuts = even_cuts(height, windows.window);
  const auto column_cuts = even_cuts(width, windows.window);
  const int64_t samples = settings.ensemble.samples;
  const int64_t total =
      static_cast<int64_t>((row_cuts.size() - 1) * (column_cuts.size() - 1)) * samples;
  int64_t done = 0;
  for (size_t r = 0; r + 1 < row_cuts.size(); ++r) {
    const int64_t top = row_cuts[r], bottom = row_cuts[r + 1];
    const int64_t from = std::max<int64_t>(0, top - margin);
    const int64_t to = std::min(height, bottom + margin);
    auto band = rows(from, to);
    band = unit_float(band);
    torch::Tensor prediction, score;  // the band's output rows, filled window by window
    for (size_t c = 0; c + 1 < column_cuts.size(); ++c) {
      const int64_t left = column_cuts[c], right = column_cuts[c + 1];
      const int64_t first = std::max<int64_t>(0, left - margin);
      const int64_t last = std::min(width, right + margin);
      const ProgressFn window_progress = [&](int64_t k, int64_t) {
        return report(progress, done + k, total);
      };
      const auto scored = predict_with_score(upscaler, band.slice(2, first, last), scale, settings,
                                             window_progress);
      done += samples;
      const auto keep = [&](const torch::Tensor& t) {
        return t.slice(-2, (top - from) * s, (bottom - from) * s)
            .slice(-1, (left - first) * s, (right - first) * s);
      };
      if (row_cuts.size() == 2 && column_cuts.size() == 2) {  // one window: the image's result
        prediction = scored.prediction;
        score = scored.score;
        break;
      }
      if (!prediction.defined()) {
        prediction = torch::empty({scored.prediction.size(0), (bottom - top) * s, width * s},
                                  scored.prediction.options());
        score = torch::empty({(bottom - top) * s, width * s}, scored.score.options());
      }
      prediction.slice(2, left * s, right * s).copy_(keep(scored.prediction));
      score.slice(1, left * s, right * s).copy_(keep(scored.score));
    }
    sink(prediction, score, top * s);
  }
  report(progress, total, total);
}

torch::Tensor trusted_mask(const torch::Tensor& score, float threshold) {
  return score < threshold;
}

double worst_error_in_mask(const torch::Tensor& fidelity, const torch::Tensor& mask) {
  TORCH_CHECK(fidelity.sizes() == mask.sizes(), "fidelity and mask differ in size");
  const auto inside = fidelity.masked_select(mask);
  return inside.numel() == 0 ? 0.0 : inside.max().item<double>();
}

torch::Tensor untrusted_overlay(const torch::Tensor& image, const torch::Tensor& mask) {
  const auto rgb = as_rgb(image);
  const auto red = torch::tensor({1.0F, 0.0F, 0.0F}, rgb.options()).view({3, 1, 1});
  const auto tinted = 0.5 * rgb + 0.5 * red;
  return torch::where(mask.unsqueeze(0), rgb, tinted).contiguous();
}

}  // namespace srkit::conformal
