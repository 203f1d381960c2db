// The calibration file (JSON) that `srkit calibrate` writes and `srkit upscale --calibration` and
// `srkit conformal-eval` read: n, the alpha grid and its thresholds, the whole risk curve (so any
// alpha can be answered later), the score and fidelity settings, and the identity of the model it
// holds for. A mask is only valid for the model, scale and settings it was calibrated with, so
// using it with another model is refused.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "srkit/conformal/calibration.h"
#include "srkit/conformal/confidence.h"
#include "srkit/models/model.h"

namespace srkit::conformal {

struct Calibration {
  nlohmann::json model;  // {"name", "scale", "sha256"} or {"command"}: see model_identity()
  double scale = 0;
  ConfidenceSettings settings;
  nlohmann::json data;  // where the calibration images came from and how LR was made
  std::vector<double> alphas;
  std::vector<float> thresholds;  // per alpha: trusted pixels have score < threshold
  RiskCurve curve;

  int64_t images() const { return curve.images; }
};

// Answers any alpha from the stored risk curve (the same as the grid's value for grid alphas).
float threshold(const Calibration& calibration, double alpha);

nlohmann::json to_json(const Calibration& calibration);

// A threshold as JSON: a number, or "-inf" (empty mask) / "inf" (every pixel).
nlohmann::json threshold_to_json(float threshold);

// Atomic write; throws an output Error naming the file.
void save_calibration(const std::filesystem::path& path, const Calibration& calibration);

// Throws a usage Error naming the file when it is missing, not JSON, or not a calibration file.
Calibration load_calibration(const std::filesystem::path& path);

// Throws a usage Error when `model` (an identity as in Calibration::model) or `scale` differ from
// the calibration's, saying which and how to fix it.
void check_same_model(const Calibration& calibration, const std::filesystem::path& path,
                      const nlohmann::json& model, double scale);

}  // namespace srkit::conformal
