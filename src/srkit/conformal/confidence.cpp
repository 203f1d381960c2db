#include "srkit/conformal/confidence.h"

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/ops/color.h"

namespace srkit::conformal {

nlohmann::json to_json(const ConfidenceSettings& s) {
  return {{"ensemble",
           {{"samples", s.ensemble.samples},
            {"shift", s.ensemble.shift},
            {"noise", s.ensemble.noise},
            {"seed", s.ensemble.seed}}},
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
  const auto augmentations = ensemble_augmentations(settings.ensemble);
  const auto total = static_cast<int64_t>(augmentations.size());
  PatchVariance variance(settings.score);
  ScoredPrediction out;
  for (int64_t k = 0; k < total; ++k) {
    if (!report(progress, k, total)) throw Error(ErrorKind::kCancelled, "interrupted");
    const auto& a = augmentations[k];
    const auto sample = restore(a, upscaler(augment(a, lr)), scale);
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
