// A prediction with its uncertainty score: the plain output of an upscaler plus the score map from
// M test-time-augmented outputs. The settings travel in the calibration file, so calibration and
// every later upscale compute the score the same way (which the guarantee requires).
//
//   srkit::conformal::ConfidenceSettings settings;           // 8 samples, Lab variance, Lab error
//   auto scored = srkit::conformal::predict_with_score(upscaler, lr, 4.0, settings);
//   auto mask = srkit::conformal::trusted_mask(scored.score, threshold);
#pragma once

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include "srkit/conformal/fidelity.h"
#include "srkit/conformal/scores.h"
#include "srkit/core/progress.h"
#include "srkit/models/model.h"
#include "srkit/ops/test_time_augmentation.h"

namespace srkit::conformal {

struct ConfidenceSettings {
  EnsembleOptions ensemble;
  ScoreOptions score;
  FidelityOptions fidelity;
};

nlohmann::json to_json(const ConfidenceSettings& settings);
// Throws a c10::Error naming the missing or bad field.
ConfidenceSettings confidence_settings_from_json(const nlohmann::json& json);

struct ScoredPrediction {
  torch::Tensor prediction;  // the upscaler's output for the plain input, [C,H',W']
  torch::Tensor score;       // [H',W'], higher = less trustworthy
};

// Runs the upscaler M times (progress: samples done of M) and scores the spread of the outputs.
ScoredPrediction predict_with_score(const UpscaleFn& upscaler, const torch::Tensor& lr,
                                    double scale, const ConfidenceSettings& settings,
                                    const ProgressFn& progress = {});

// The trusted pixels, score < threshold: [H,W] bool.
torch::Tensor trusted_mask(const torch::Tensor& score, float threshold);

// The worst error inside the mask; 0 when the mask is empty (the loss the guarantee bounds).
double worst_error_in_mask(const torch::Tensor& fidelity, const torch::Tensor& mask);

// The image [C,H,W] with untrusted pixels tinted red (half-way), as RGB.
torch::Tensor untrusted_overlay(const torch::Tensor& image, const torch::Tensor& mask);

}  // namespace srkit::conformal
