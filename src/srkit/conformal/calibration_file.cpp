#include "srkit/conformal/calibration_file.h"

#include <cmath>
#include <fstream>

#include <c10/util/Exception.h>

#include "srkit/core/error.h"
#include "srkit/io/atomic_file.h"

namespace srkit::conformal {
namespace {

constexpr const char* kFormat = "srkit-calibration";
constexpr int kVersion = 1;

float threshold_from_json(const nlohmann::json& j) {
  if (j.is_string()) {
    const auto text = j.get<std::string>();
    TORCH_CHECK(text == "-inf" || text == "inf", "bad threshold ", text);
    return text == "inf" ? kFullMask : kEmptyMask;
  }
  return static_cast<float>(j.get<double>());
}

std::string describe(const nlohmann::json& model, double scale) {
  if (model.contains("command")) {
    return "the external program `" + model.at("command").get<std::string>() + "` at x" +
           nlohmann::json(scale).dump();
  }
  std::string sampled;
  if (model.contains("sampling")) {  // a generative model
    const auto& s = model.at("sampling");
    sampled = ", " + s.at("steps").dump() + " " + s.at("solver").get<std::string>() + " steps";
  }
  return model.at("name").get<std::string>() + " (x" + model.at("scale").dump() + " weights) at x" +
         nlohmann::json(scale).dump() + sampled;
}

}  // namespace

nlohmann::json threshold_to_json(float t) {
  if (t == kEmptyMask) return "-inf";
  if (t == kFullMask) return "inf";
  return static_cast<double>(t);
}

float threshold(const Calibration& calibration, double alpha) {
  return threshold_for(calibration.curve, alpha);
}

nlohmann::json to_json(const Calibration& c) {
  nlohmann::json grid = nlohmann::json::array();
  for (size_t k = 0; k < c.alphas.size(); ++k) {
    grid.push_back({{"alpha", c.alphas[k]}, {"threshold", threshold_to_json(c.thresholds[k])}});
  }
  std::vector<double> scores(c.curve.scores.begin(), c.curve.scores.end());
  return {{"format", kFormat},
          {"version", kVersion},
          {"trusted", "score < threshold"},
          {"fidelity_bound", kFidelityBound},
          {"images", c.curve.images},
          {"model", c.model},
          {"scale", c.scale},
          {"settings", to_json(c.settings)},
          {"data", c.data},
          {"thresholds", grid},
          {"risk_curve", {{"scores", scores}, {"loss_sums_2^-32", c.curve.sums}}}};
}

void save_calibration(const std::filesystem::path& path, const Calibration& calibration) {
  AtomicOutput out(path);
  {
    std::ofstream file(out.temp_path());
    file << to_json(calibration).dump(1) << "\n";
    if (!file) throw output_error(path.string(), "cannot be written", "check the folder and disk");
  }
  out.commit();
}

Calibration load_calibration(const std::filesystem::path& path) {
  std::ifstream file(path);
  if (!file) {
    throw usage_error(path.string() + ": cannot be read; make one with `srkit calibrate`");
  }
  try {
    const auto j = nlohmann::json::parse(file);
    if (j.value("format", "") != kFormat) {
      throw usage_error(path.string() + ": not an srkit calibration file");
    }
    if (j.at("version").get<int>() != kVersion) {
      throw usage_error(path.string() + ": calibration format version " + j.at("version").dump() +
                        " is not supported; recalibrate with this srkit");
    }
    Calibration c;
    c.model = j.at("model");
    c.scale = j.at("scale").get<double>();
    c.settings = confidence_settings_from_json(j.at("settings"));
    c.data = j.at("data");
    for (const auto& entry : j.at("thresholds")) {
      c.alphas.push_back(entry.at("alpha").get<double>());
      c.thresholds.push_back(threshold_from_json(entry.at("threshold")));
    }
    c.curve.images = j.at("images").get<int64_t>();
    for (const double s : j.at("risk_curve").at("scores")) c.curve.scores.push_back(float(s));
    c.curve.sums = j.at("risk_curve").at("loss_sums_2^-32").get<std::vector<Ticks>>();
    TORCH_CHECK(c.curve.scores.size() == c.curve.sums.size(), "risk curve lengths differ");
    return c;
  } catch (const nlohmann::json::exception& e) {
    throw usage_error(path.string() + ": damaged calibration file (" + e.what() +
                      "); recalibrate with `srkit calibrate`");
  } catch (const c10::Error& e) {
    throw usage_error(path.string() + ": damaged calibration file (" + e.what_without_backtrace() +
                      "); recalibrate with `srkit calibrate`");
  }
}

void check_same_model(const Calibration& calibration, const std::filesystem::path& path,
                      const nlohmann::json& model, double scale) {
  if (calibration.model == model && calibration.scale == scale) return;
  throw usage_error(path.string() + " was calibrated for " +
                    describe(calibration.model, calibration.scale) + ", not for " +
                    describe(model, scale) +
                    ": its masks would carry no guarantee. Use the same model and {{scale}} (and a "
                    "generative model's {{steps}} and {{sampler}}), or calibrate this one with "
                    "`srkit calibrate`");
}

}  // namespace srkit::conformal
