// Confidence masks on real photos with a real model: the guarantee over random calibration/test
// splits, and the calibrate -> upscale --mask -> conformal-eval workflow, including external
// programs as black-box upscalers.
#include <algorithm>
#include <numeric>
#include <random>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "srkit/conformal/calibration.h"
#include "srkit/conformal/calibration_data.h"
#include "srkit/conformal/confidence.h"
#include "srkit/core/error.h"
#include "srkit/engine/upscale.h"
#include "srkit/io/image_io.h"
#include "srkit/models/registry.h"
#include "test_data.h"

namespace srkit {
namespace {

using testing::contains;
using testing::run_srkit;
using testing::TempDir;

// Every unit's loss staircase and sorted scores: enough to calibrate on any subset and measure
// the test risk and trusted fraction of the others.
struct ScoredUnit {
  conformal::Staircase staircase;
  std::vector<float> sorted_scores;
};

std::vector<ScoredUnit> score_sample_crops(const std::string& model_name, int64_t scale) {
  auto model = load_model({model_name, scale, 1.0});
  model->prepare(torch::kCPU, true);
  const UpscaleFn upscaler = [&](const torch::Tensor& lr) {
    return upscale(*model, lr, UpscaleOptions{});
  };
  conformal::UnitOptions options;
  options.scale = scale;
  options.crop = 96;
  const conformal::ConfidenceSettings settings;  // the defaults users get
  std::vector<ScoredUnit> units;
  for (const auto& file : list_image_files(testing::data_path("samples"))) {
    for (const auto& unit : conformal::image_units(file, options)) {
      const auto scored = conformal::predict_with_score(upscaler, unit.lr, scale, settings);
      const auto errors = conformal::fidelity_map(unit.hr, scored.prediction, settings.fidelity);
      ScoredUnit u;
      u.staircase = conformal::image_staircase(scored.score, errors);
      const auto flat = scored.score.reshape(-1).contiguous();
      u.sorted_scores.assign(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel());
      std::sort(u.sorted_scores.begin(), u.sorted_scores.end());
      units.push_back(std::move(u));
    }
  }
  return units;
}

// Exchangeable units (crops of the sample photos) split at random into calibration and test sets
// many times: the mean test risk must stay at or below alpha (Theorem 2.1), and the masks must not
// be trivially empty.
TEST(ConformalOnPhotos, RandomSplitsKeepTheMeanRiskBelowAlpha) {
  const auto units = score_sample_crops("default", 2);
  ASSERT_GE(units.size(), 150U);
  const size_t n = units.size() / 2;
  std::mt19937 rng(42);
  for (const double alpha : {0.1, 0.2}) {
    std::vector<double> split_risks;
    double trusted = 0;
    for (int split = 0; split < 200; ++split) {
      std::vector<size_t> order(units.size());
      std::iota(order.begin(), order.end(), 0);
      std::shuffle(order.begin(), order.end(), rng);
      std::vector<conformal::Staircase> calibration;
      for (size_t i = 0; i < n; ++i) calibration.push_back(units[order[i]].staircase);
      const float t = conformal::threshold_for(conformal::risk_curve(calibration), alpha);
      double risk = 0, fraction = 0;
      for (size_t i = n; i < units.size(); ++i) {
        const auto& u = units[order[i]];
        risk += conformal::from_ticks(conformal::loss_below(u.staircase, t));
        fraction += static_cast<double>(
                        std::lower_bound(u.sorted_scores.begin(), u.sorted_scores.end(), t) -
                        u.sorted_scores.begin()) /
                    static_cast<double>(u.sorted_scores.size());
      }
      split_risks.push_back(risk / static_cast<double>(units.size() - n));
      trusted += fraction / static_cast<double>(units.size() - n);
    }
    const double mean =
        std::accumulate(split_risks.begin(), split_risks.end(), 0.0) / split_risks.size();
    trusted /= static_cast<double>(split_risks.size());
    std::printf("alpha %.2f: mean test risk %.4f over 200 splits (n = %zu), trusted %.3f\n", alpha,
                mean, n, trusted);
    EXPECT_LE(mean, alpha);
    EXPECT_GT(trusted, alpha == 0.1 ? 0.05 : 0.3) << "masks should not be trivially empty";
  }
}

struct Workflow : ::testing::Test {
  TempDir dir;
  std::filesystem::path calibration_photos = dir / "calibration";
  std::filesystem::path test_photos = dir / "test";
  std::filesystem::path test_photo = test_photos / "chelsea_crop.png";

  void SetUp() override {
    std::filesystem::create_directories(calibration_photos);
    std::filesystem::create_directories(test_photos);
    for (const char* name : {"astronaut.png", "coffee.png"}) {
      std::filesystem::copy_file(testing::data_path(std::string("samples/") + name),
                                 calibration_photos / name);
    }
    const auto photo = read_image(testing::data_path("samples/chelsea.png")).pixels;
    write_image(test_photo, photo.slice(1, 0, 96).slice(2, 0, 128), 8);
  }
};

TEST_F(Workflow, CalibrateThenMaskEveryUpscale) {
  const auto calibration = dir / "calib.json";
  auto result = run_srkit("calibrate --model default --data " + calibration_photos.string() +
                          " --crop 96 --alpha 0.1,0.2 -o " + calibration.string() + " -q --json");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto summary = nlohmann::json::parse(result.out);
  EXPECT_EQ(summary["images"].get<int64_t>(), 49);  // 5x5 crops of astronaut + 6x4 of coffee
  EXPECT_EQ(summary["model"]["name"], "default");
  EXPECT_EQ(summary["thresholds"].size(), 2U);

  result = run_srkit("upscale " + test_photo.string() + " -o " + (dir / "out.png").string() +
                     " --calibration " + calibration.string() + " --alpha 0.2 --mask " +
                     (dir / "mask.png").string() + " --overlay " + (dir / "overlay.png").string() +
                     " --json -q");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto report = nlohmann::json::parse(result.out)["images"][0];
  const auto mask = read_image(dir / "mask.png").pixels;
  ASSERT_EQ(mask.sizes(), torch::IntArrayRef({1, 192, 256}));
  EXPECT_TRUE(torch::all((mask == 0) | (mask == 1)).item<bool>()) << "a binary mask";
  EXPECT_NEAR(mask.mean().item<double>(), report["trusted_fraction"].get<double>(), 1e-6);
  EXPECT_EQ(read_image(dir / "overlay.png").pixels.size(0), 3);
  // Without --model the calibrated upscale ran the calibration's model (not srkit upscale's
  // default); the image itself is that model's plain output, as without --calibration.
  result = run_srkit("upscale " + test_photo.string() + " -o " + (dir / "plain.png").string() +
                     " --model default -q");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(
      torch::equal(read_image(dir / "plain.png").pixels, read_image(dir / "out.png").pixels));

  result = run_srkit("conformal-eval --calibration " + calibration.string() + " --data " +
                     test_photos.string() + " --crop 0 --alpha 0.1,0.2 --leaked 9 --plots " +
                     (dir / "plots").string() + " --json -q");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto evaluation = nlohmann::json::parse(result.out);
  ASSERT_EQ(evaluation["alphas"].size(), 2U);
  // Proposition 3.2: alpha (n + 1) / (n_new + 1) with n = 49, 9 leaked.
  EXPECT_NEAR(evaluation["alphas"][0]["leakage_bound"].get<double>(), 0.1 * 50 / 41, 1e-12);
  EXPECT_EQ(evaluation["test"]["units"].get<int64_t>(), 1);
  for (const char* plot : {"risk_vs_alpha.png", "trusted_vs_alpha.png", "psnr_vs_alpha.png"}) {
    EXPECT_EQ(read_image(dir / "plots" / plot).pixels.size(0), 3) << plot;
  }
  result = run_srkit("conformal-eval --calibration " + calibration.string() + " --data " +
                     test_photos.string() + " --alpha 0,0.1 -q");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_TRUE(contains(result.err, "give positive numbers")) << result.err;
  // The default levels: the calibration's and 0.025, 0.05, ..., 0.5 as written, each once (a
  // grid summed in floating point gave 0.30000000000000004 beside a calibrated 0.3).
  result = run_srkit("conformal-eval --calibration " + calibration.string() + " --data " +
                     test_photos.string() + " --crop 0 --bootstrap 10 --json -q");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto levels = nlohmann::json::parse(result.out)["alphas"];
  ASSERT_EQ(levels.size(), 20U) << levels.dump();
  for (size_t k = 0; k < levels.size(); ++k) {
    EXPECT_EQ(levels[k]["alpha"].get<double>(), (k + 1) * 25 / 1000.0) << levels[k].dump();
  }
}

// An image whose M outputs do not fit in --max-memory is scored a window at a time and its output,
// mask and overlay are written as rows: the same files, up to rounding, as scored whole; and a
// file that fails half-way leaves none of them.
TEST_F(Workflow, MasksOfImagesBeyondTheBudgetAreScoredInWindows) {
  const auto calibration = dir / "calib.json";
  auto result = run_srkit("calibrate --model default --data " + calibration_photos.string() +
                          " --crop 96 --alpha 0.2 -o " + calibration.string() + " -q");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto photo = dir / "chelsea.png";  // 451x300 x2: 2 x 451 x 2 x 300 x 192 bytes = 104 MB
  std::filesystem::copy_file(testing::data_path("samples/chelsea.png"), photo);
  const auto masked = [&](const std::string& name, const std::string& flags) {
    const auto out = dir / name;
    std::filesystem::create_directories(out);
    auto run = run_srkit("upscale " + photo.string() + " -o " + (out / "up.png").string() +
                         " --calibration " + calibration.string() + " --mask " +
                         (out / "mask.png").string() + " --overlay " +
                         (out / "overlay.png").string() + " --json -q " + flags);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return nlohmann::json::parse(run.out)["images"][0];
  };
  const auto whole = masked("whole", "");
  const auto windowed = masked("windowed", "--max-memory 150M");
  EXPECT_EQ(whole["scoring_window"].get<int64_t>(), 0) << "one window: the image";
  EXPECT_GT(windowed["scoring_window"].get<int64_t>(), 0) << windowed.dump();
  EXPECT_TRUE(windowed["input_streamed"].get<bool>());
  for (const char* file : {"up.png", "mask.png", "overlay.png"}) {
    const auto a = read_image(dir / "whole" / file).pixels;
    const auto b = read_image(dir / "windowed" / file).pixels;
    ASSERT_EQ(a.sizes(), b.sizes()) << file;
    EXPECT_EQ(a.size(1), 600) << file;
    // The shifts of the samples and the model's tiles fall elsewhere: a sample may round to its
    // neighbour, and a pixel whose score is at the threshold may change sides.
    const double differing =
        ((a - b).abs() > 1.5 / 255).any(0).to(torch::kFloat64).mean().item<double>();
    EXPECT_LT(differing, 1e-4) << file;
  }
  const auto mask = read_image(dir / "windowed" / "mask.png").pixels;
  EXPECT_NEAR(mask.mean().item<double>(), windowed["trusted_fraction"].get<double>(), 1e-6);
  EXPECT_NEAR(windowed["trusted_fraction"].get<double>(), whole["trusted_fraction"].get<double>(),
              1e-4);

  // Cut short mid-stream: an error naming the file, and none of the three outputs, whole or half.
  std::filesystem::resize_file(photo, std::filesystem::file_size(photo) * 6 / 10);
  const auto cut = dir / "cut";
  std::filesystem::create_directories(cut);
  result = run_srkit("upscale " + photo.string() + " -o " + (cut / "up.png").string() +
                     " --calibration " + calibration.string() + " --mask " +
                     (cut / "mask.png").string() + " --overlay " + (cut / "overlay.png").string() +
                     " --max-memory 150M -q");
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_TRUE(contains(result.err, photo.string())) << result.err;
  EXPECT_TRUE(std::filesystem::is_empty(cut)) << "an output or a temporary file was left";
}

// LR files given beside the HR ones (--lr) calibrate exactly as LR made by srkit: `srkit degrade`
// writes the same MATLAB bicubic, rounded to 8 bits.
TEST_F(Workflow, GivenLowResolutionPairsCalibrateLikeMadeOnes) {
  const auto hr = dir / "hr", lr = dir / "lr";
  std::filesystem::create_directories(hr);
  const auto photo = read_image(testing::data_path("samples/astronaut.png")).pixels;
  for (int i = 0; i < 4; ++i) {
    write_image(hr / ("part" + std::to_string(i) + ".png"),
                photo.slice(1, 128 * i, 128 * i + 97).slice(2, 0, 131), 8);
  }
  ASSERT_EQ(run_srkit("degrade " + hr.string() + " -o " + lr.string() + " --scale 2 -q").exit_code,
            0);
  const auto calibrate = [&](const std::string& extra) {
    const auto result =
        run_srkit("calibrate --data " + hr.string() + " " + extra + " --alpha 0.7,1 -o " +
                  (dir / "c.json").string() + " --overwrite --json -q");
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return nlohmann::json::parse(result.out)["thresholds"];
  };
  const auto made = calibrate("");
  EXPECT_EQ(made, calibrate("--lr " + lr.string()));
  EXPECT_TRUE(made[0]["threshold"].is_number()) << made;  // a real threshold, not a trivial one
  const auto wrong = dir / "lr_wrong";
  std::filesystem::copy(lr, wrong);
  write_image(wrong / "part0.png", torch::zeros({3, 20, 30}), 8, {true});
  const auto mismatch = run_srkit("calibrate --data " + hr.string() + " --lr " + wrong.string() +
                                  " --alpha 1 -o " + (dir / "e.json").string() + " -q");
  EXPECT_EQ(mismatch.exit_code, 1) << "the other three pairs are used";
  EXPECT_TRUE(contains(mismatch.err, "part0.png: does not match")) << mismatch.err;
  const auto missing = run_srkit("calibrate --data " + calibration_photos.string() + " --lr " +
                                 lr.string() + " -o " + (dir / "d.json").string() + " -q");
  EXPECT_TRUE(contains(missing.err, "has no LR file with the same name")) << missing.err;
}

TEST_F(Workflow, RefusesACalibrationMadeForAnotherModel) {
  const auto calibration = dir / "calib.json";
  ASSERT_EQ(run_srkit("calibrate --model default --data " + calibration_photos.string() +
                      " --crop 192 --alpha 0.5 -o " + calibration.string() + " -q")
                .exit_code,
            0);
  const auto result =
      run_srkit("upscale " + test_photo.string() + " -o " + (dir / "out.png").string() +
                " --model esrgan-slim --scale 2 " + "--calibration " + calibration.string() +
                " --mask " + (dir / "mask.png").string());
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_TRUE(contains(result.err, "was calibrated for default")) << result.err;
  EXPECT_TRUE(contains(result.err, "srkit calibrate")) << result.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "out.png"));
}

// srkit itself, run as an external program, is a black box like any other.
TEST_F(Workflow, ExternalProgramIsABlackBoxUpscaler) {
  const std::string program =
      std::string("'") + SRKIT_BINARY + " upscale {in} -o {out} --model default --overwrite -q'";
  const auto calibration = dir / "calib.json";
  auto result = run_srkit("calibrate --model-cmd " + program + " --scale 2 --samples 2 --data " +
                          calibration_photos.string() + " --crop 256 --alpha 0.5 -o " +
                          calibration.string() + " --json -q");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(nlohmann::json::parse(result.out)["images"].get<int64_t>(), 6);  // 4 + 2 crops
  result = run_srkit("upscale " + test_photo.string() + " -o " + (dir / "out.png").string() +
                     " --model-cmd " + program + " --scale 2 --calibration " +
                     calibration.string() + " --alpha 1.5 --json -q");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(read_image(dir / "out.png").pixels.size(2), 256);
  // Another command is another model.
  result = run_srkit("upscale " + test_photo.string() + " -o " + (dir / "other.png").string() +
                     " --model-cmd 'cp {in} {out}' --scale 2 --calibration " +
                     calibration.string() + " --json -q");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_TRUE(contains(result.err, "was calibrated for the external program")) << result.err;
}

TEST_F(Workflow, ExternalProgramFailuresAreClear) {
  const auto run = [&](const std::string& command, const std::string& extra = "") {
    return run_srkit("upscale " + test_photo.string() + " -o " + (dir / "out.png").string() +
                     " --model-cmd '" + command + "' --scale 2 " + extra);
  };
  auto result = run("false {in} {out}");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(contains(result.err, "exited with status 1")) << result.err;
  result = run("echo broken model >&2; exit 3 # {in} {out}");
  EXPECT_TRUE(contains(result.err, "broken model")) << result.err;
  result = run("cp {in} {out}");
  EXPECT_TRUE(contains(result.err, "wrote 128x96 for a 128x96 input; x2 needs 256x192"))
      << result.err;
  result = run("true {in} {out}");
  EXPECT_TRUE(contains(result.err, "wrote no file")) << result.err;
  result = run("sleep 20 # {in} {out}", "--model-timeout 0.5");
  EXPECT_TRUE(contains(result.err, "did not finish within")) << result.err;
  result = run_srkit("upscale " + test_photo.string() + " -o " + (dir / "out.png").string() +
                     " --model-cmd 'cp {in} {out}'");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_TRUE(contains(result.err, "--model-cmd needs --scale")) << result.err;
  result = run("my-upscaler input output");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_TRUE(contains(result.err, "must contain {in} and {out}")) << result.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "out.png"));
}

// `srkit degrade --pipeline realesrgan` gives colour LR for gray and RGBA photos; such pairs are
// units with colour HR (gray repeated, alpha dropped). Other channel mismatches are input errors.
TEST(CalibrationUnits, ColourLrOfGrayOrRgbaPhotosPairsWithTheirColours) {
  TempDir dir;
  const auto rgb =
      read_image(testing::data_path("samples/chelsea.png")).pixels.slice(1, 0, 64).slice(2, 0, 64);
  std::filesystem::create_directories(dir / "lr");
  write_image(dir / "lr" / "gray.png", rgb.slice(1, 0, 16).slice(2, 0, 16), 8);
  write_image(dir / "lr" / "rgba.png", rgb.slice(1, 0, 16).slice(2, 0, 16), 8);
  write_image(dir / "lr" / "odd.png", rgb.slice(0, 0, 1).slice(1, 0, 16).slice(2, 0, 16), 8);
  write_image(dir / "gray.png", rgb.slice(0, 1, 2), 8);
  write_image(dir / "rgba.png", torch::cat({rgb, torch::ones({1, 64, 64})}), 8);
  write_image(dir / "odd.png", rgb, 8);
  conformal::UnitOptions options;
  options.lr_folder = dir / "lr";
  const auto gray = conformal::image_units(dir / "gray.png", options);
  ASSERT_EQ(gray.size(), 1U);
  EXPECT_EQ(gray[0].hr.size(0), 3);
  EXPECT_TRUE(torch::equal(gray[0].hr[0], gray[0].hr[2]));
  const auto rgba = conformal::image_units(dir / "rgba.png", options);
  EXPECT_EQ(rgba[0].hr.size(0), 3);
  try {
    conformal::image_units(dir / "odd.png", options);
    FAIL() << "gray LR of a colour photo";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "has 1 channels but")) << e.what();
  }
}

}  // namespace
}  // namespace srkit
