// The flow upscaler as a user meets it: `srkit upscale --model flow.srkit --seed --steps` gives
// the same file for a seed and another for another seed, --samples K writes the samples of K
// seeds, a calibration scores the spread of its samples and guards its sampler, the sampling flags
// are refused for models that do not sample, and `srkit train` of a flow config resumes exactly.
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "srkit/io/image_io.h"
#include "srkit/models/flow_model.h"
#include "srkit/models/model_archive.h"
#include "support/tiny_flow.h"
#include "test_data.h"

namespace srkit {
namespace {

namespace fs = std::filesystem;
using testing::contains;
using testing::run_srkit;
using testing::slurp;
using testing::TempDir;

// A small x2 flow model with random weights (a trained one samples the same way, slower).
fs::path random_flow_model(const TempDir& dir) {
  testing::save_random_flow_model(dir / "flow.srkit", "flow-test", 1, 3);
  return dir / "flow.srkit";
}

fs::path small_photo(const TempDir& dir) {
  const auto photo = read_image(testing::data_path("samples/butterfly.png")).pixels;
  write_image(dir / "small.png", photo.slice(1, 0, 36).slice(2, 0, 44), 8);
  return dir / "small.png";
}

TEST(Generative, ASeedGivesTheSameSampleAndAnotherSeedAnother) {
  TempDir dir;
  const auto model = random_flow_model(dir).string();
  const auto photo = small_photo(dir).string();
  const auto sample = [&](const std::string& out, const std::string& flags) {
    return run_srkit("upscale " + photo + " -o " + (dir / out).string() + " --model " + model +
                     " -q --json " + flags);
  };
  const auto first = sample("a.png", "--seed 3 --steps 2");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const auto record = nlohmann::json::parse(first.out)["images"][0];
  EXPECT_EQ(record["sampling"]["seed"], 3);
  EXPECT_EQ(record["sampling"]["steps"], 2);
  EXPECT_EQ(record["sampling"]["solver"], "euler");
  EXPECT_EQ(record["out_width"], 88);
  EXPECT_EQ(record["out_height"], 72);
  ASSERT_EQ(sample("b.png", "--seed 3 --steps 2").exit_code, 0);
  ASSERT_EQ(sample("c.png", "--seed 4 --steps 2").exit_code, 0);
  ASSERT_EQ(sample("d.png", "--seed 3 --steps 2 --sampler heun --tile 8").exit_code, 0);
  EXPECT_EQ(slurp(dir / "a.png"), slurp(dir / "b.png"));
  EXPECT_NE(slurp(dir / "a.png"), slurp(dir / "c.png"));
  EXPECT_NE(slurp(dir / "a.png"), slurp(dir / "d.png"));
  // The model's own defaults without flags: seed 0, its 3 steps.
  const auto plain = sample("e.png", "");
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(nlohmann::json::parse(plain.out)["images"][0]["sampling"]["steps"], 3);
}

TEST(Generative, SamplesAreTheFilesOfConsecutiveSeeds) {
  TempDir dir;
  const auto model = random_flow_model(dir).string();
  const auto photo = small_photo(dir).string();
  const auto three = run_srkit("upscale " + photo + " -o " + (dir / "s.png").string() +
                               " --model " + model + " --seed 5 --samples 3 -q --json");
  ASSERT_EQ(three.exit_code, 0) << three.err;
  const auto images = nlohmann::json::parse(three.out)["images"];
  ASSERT_EQ(images.size(), 3u);
  for (int k = 0; k < 3; ++k) {
    const auto name = "s_seed" + std::to_string(5 + k) + ".png";
    EXPECT_EQ(images[k]["sampling"]["seed"], 5 + k);
    EXPECT_EQ(fs::path(images[k]["output"].get<std::string>()).filename(), name);
    const auto single = "one_" + std::to_string(k) + ".png";
    ASSERT_EQ(run_srkit("upscale " + photo + " -o " + (dir / single).string() + " --model " +
                        model + " --seed " + std::to_string(5 + k) + " -q")
                  .exit_code,
              0);
    EXPECT_EQ(slurp(dir / name), slurp(dir / single)) << "sample " << k << " is seed " << 5 + k;
  }
  EXPECT_NE(slurp(dir / "s_seed5.png"), slurp(dir / "s_seed6.png"));
  EXPECT_FALSE(fs::exists(dir / "s.png"));
  const auto slim = run_srkit("upscale " + photo + " -o " + (dir / "x.png").string() +
                              " --model esrgan-slim --samples 2");
  EXPECT_EQ(slim.exit_code, 2);
  EXPECT_TRUE(contains(slim.err, "--samples")) << slim.err;
}

TEST(Generative, CalibrationScoresTheSpreadOfTheModelsOwnSamples) {
  TempDir dir;
  const auto model = random_flow_model(dir).string();
  fs::create_directories(dir / "hr");
  const auto photo = read_image(testing::data_path("samples/astronaut.png")).pixels;
  for (int k = 0; k < 3; ++k) {
    write_image(dir / "hr" / ("p" + std::to_string(k) + ".png"),
                photo.slice(1, 64 * k, 64 * k + 48).slice(2, 100, 148), 8);
  }
  const auto calibration = (dir / "calib.json").string();
  const auto made = run_srkit("calibrate --model " + model + " --data " + (dir / "hr").string() +
                              " --samples 4 --alpha 0.9 -q --json -o " + calibration);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const auto file = nlohmann::json::parse(slurp(calibration));
  EXPECT_EQ(file["settings"]["ensemble"]["seeded"], true);
  EXPECT_EQ(file["settings"]["ensemble"]["transforms"], false);
  EXPECT_EQ(file["settings"]["ensemble"]["samples"], 4);
  EXPECT_EQ(file["model"]["sampling"]["steps"], 3);
  // The score of the deterministic models instead: one seed's sample under flips and rotations.
  const auto flips = (dir / "flips.json").string();
  ASSERT_EQ(run_srkit("calibrate --model " + model + " --data " + (dir / "hr").string() +
                      " --samples 4 --spread flips --alpha 0.9 -q -o " + flips)
                .exit_code,
            0);
  const auto flips_file = nlohmann::json::parse(slurp(flips));
  EXPECT_EQ(flips_file["settings"]["ensemble"]["seeded"], false);
  EXPECT_EQ(flips_file["settings"]["ensemble"]["transforms"], true);
  const auto small = small_photo(dir).string();
  const auto masked =
      run_srkit("upscale " + small + " -o " + (dir / "m.png").string() + " --model " + model +
                " --calibration " + calibration + " --alpha 0.9 --mask " +
                (dir / "mask.png").string() + " -q --json");
  ASSERT_EQ(masked.exit_code, 0) << masked.err;
  EXPECT_TRUE(fs::exists(dir / "mask.png"));
  const auto masked_record = nlohmann::json::parse(masked.out)["images"][0];
  EXPECT_EQ(masked_record["sampling"]["seed"], 0) << masked.out;
  EXPECT_EQ(masked_record["sampling"]["steps"], 3) << masked.out;
  EXPECT_TRUE(masked_record.contains("trusted_fraction")) << masked.out;
  // The delivered image is the plain sample of its seed.
  ASSERT_EQ(run_srkit("upscale " + small + " -o " + (dir / "plain.png").string() + " --model " +
                      model + " -q")
                .exit_code,
            0);
  EXPECT_EQ(slurp(dir / "m.png"), slurp(dir / "plain.png"));
  // conformal-eval needs the file of a model that is not registered, and checks its checksum.
  const auto unnamed = run_srkit("conformal-eval --calibration " + calibration + " --data " +
                                 (dir / "hr").string() + " -q");
  EXPECT_EQ(unnamed.exit_code, 2);
  EXPECT_TRUE(contains(unnamed.err, "--model")) << unnamed.err;
  const auto evaluated = run_srkit("conformal-eval --calibration " + calibration + " --model " +
                                   model + " --data " + (dir / "hr").string() + " -q --json");
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.err;
  EXPECT_EQ(nlohmann::json::parse(evaluated.out)["test"]["units"], 3) << evaluated.out;
  // Other sampler steps draw other samples: the calibration does not hold for them.
  const auto steps = run_srkit("upscale " + small + " -o " + (dir / "s.png").string() +
                               " --model " + model + " --steps 2 --calibration " + calibration +
                               " --mask " + (dir / "mask2.png").string());
  EXPECT_EQ(steps.exit_code, 2);
  EXPECT_TRUE(contains(steps.err, "--steps")) << steps.err;
  const auto regression =
      run_srkit("calibrate --model esrgan-slim --data " + (dir / "hr").string() +
                " --spread seeds -o " + (dir / "c2.json").string());
  EXPECT_EQ(regression.exit_code, 2);
  EXPECT_TRUE(contains(regression.err, "--spread")) << regression.err;
  const auto unknown = run_srkit("calibrate --model " + model + " --data " + (dir / "hr").string() +
                                 " --spread noise -o " + (dir / "c3.json").string());
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_TRUE(contains(unknown.err, "--spread noise")) << unknown.err;
  EXPECT_FALSE(fs::exists(dir / "c3.json"));
}

TEST(Generative, SamplingFlagsAreUsageErrorsWhereTheyMeanNothing) {
  TempDir dir;
  const auto model = random_flow_model(dir).string();
  const auto photo = small_photo(dir).string();
  const auto out = (dir / "out.png").string();
  const auto slim = run_srkit("upscale " + photo + " -o " + out + " --model esrgan-slim --seed 3");
  EXPECT_EQ(slim.exit_code, 2);
  EXPECT_TRUE(contains(slim.err, "--seed")) << slim.err;
  const auto sampler =
      run_srkit("upscale " + photo + " -o " + out + " --model " + model + " --sampler ddim");
  EXPECT_EQ(sampler.exit_code, 2);
  EXPECT_TRUE(contains(sampler.err, "--sampler")) << sampler.err;
  const auto scale =
      run_srkit("upscale " + photo + " -o " + out + " --model " + model + " --scale 3");
  EXPECT_EQ(scale.exit_code, 2);
  EXPECT_TRUE(contains(scale.err, "--scale")) << scale.err;
  EXPECT_FALSE(fs::exists(out));
}

// A --max-memory too small for one window of the sampler is exceeded, not refused, and the user is
// told; the record says how the sample was tiled and what a window's pass took.
TEST(Generative, ABudgetTooSmallForTheSamplersWindowsIsSaidAndRecorded) {
  TempDir dir;
  const auto model = random_flow_model(dir).string();
  const auto photo = small_photo(dir).string();
  const auto fits = run_srkit("upscale " + photo + " -o " + (dir / "a.png").string() + " --model " +
                              model + " --json");
  ASSERT_EQ(fits.exit_code, 0) << fits.err;
  EXPECT_FALSE(contains(fits.err, "--max-memory")) << fits.err;
  const auto record = nlohmann::json::parse(fits.out)["images"][0];
  EXPECT_EQ(record["windows"], 1) << fits.out;
  EXPECT_EQ(record["velocities"], 3) << fits.out;
  EXPECT_LE(record["memory"]["window_pass"].get<int64_t>(), record["memory"]["pass"].get<int64_t>())
      << fits.out;
  const auto small = run_srkit("upscale " + photo + " -o " + (dir / "b.png").string() +
                               " --model " + model + " --max-memory 32M --json");
  ASSERT_EQ(small.exit_code, 0) << small.err;
  EXPECT_TRUE(contains(small.err, "note: --max-memory")) << small.err;
  EXPECT_EQ(slurp(dir / "a.png"), slurp(dir / "b.png"));  // the same sample, only slower
}

std::vector<double> logged_losses(const fs::path& log) {
  std::vector<double> losses;
  for (const auto& record : testing::step_records(log)) {
    losses.push_back(record["loss"].get<double>());
  }
  return losses;
}

TEST(Generative, FlowTrainingResumesExactlyAndExportsASampler) {
  TempDir dir;
  fs::create_directories(dir / "train");
  fs::create_directories(dir / "val");
  fs::copy_file(testing::data_path("samples/astronaut.png"), dir / "train/astronaut.png");
  fs::copy_file(testing::data_path("holdout/graf1.png"), dir / "val/graf1.png");
  const auto config = [&](const std::string& name) {
    const auto path = dir / (name + ".yaml");
    std::ofstream(path) << "name: " << name << "\noutput: " << (dir / name).string()
                        << "\nmodel:\n  architecture: flow_unet\n  scale: 2\n  channels: 8\n"
                           "  multipliers: [1, 2]\n  blocks: 1\n  embedding: 16\n"
                           "  residual: true\n  steps: 2\n"
                           "flow:\n  logit_mean: 0\n  logit_std: 1\n"
                           "data:\n  train: "
                        << (dir / "train").string()
                        << "\n  patch: 32\n  batch: 4\n  degradation: realesrgan\n"
                           "  patches_per_image: 8\n  workers: 2\n  seed: 3\n"
                           "validation:\n  folder: "
                        << (dir / "val").string()
                        << "\n  every: 3\n  crop: 32\n  steps: 2\n"
                           "loss:\n  - type: sobolev\n    s: 1.5\n    transform: fft-half\n"
                           "    frequency_scale: 0.125\n"
                           "optimizer:\n  lr: 1.0e-3\n  clip_grad_norm: 1.0\n"
                           "schedule:\n  steps: 6\n  warmup: 2\n"
                           "ema: 0.9\ncheckpoint_every: 100\nlog_every: 1\n";
    return path.string();
  };
  const auto whole = config("whole"), split = config("split");
  const auto run = run_srkit("train --threads 2 -q --json --config " + whole);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(nlohmann::json::parse(run.out).contains("validation"));
  ASSERT_EQ(run_srkit("train --threads 2 -q --stop-after 3 --config " + split).exit_code, 0);
  const auto resumed = run_srkit("train --threads 2 -q --resume --config " + split);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const auto a = logged_losses(dir / "whole/log.jsonl"), b = logged_losses(dir / "split/log.jsonl");
  ASSERT_EQ(a.size(), 6u);
  EXPECT_EQ(a, b);  // bit for bit
  EXPECT_EQ(slurp(dir / "whole/whole.srkit").size(), slurp(dir / "split/split.srkit").size());
  const ModelArchive wa(dir / "whole/whole.srkit"), wb(dir / "split/split.srkit");
  auto ma = read_flow_model(wa), mb = read_flow_model(wb);
  const auto pa = ma->network().parameters(), pb = mb->network().parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i]));
  // The export samples through srkit upscale.
  const auto photo = small_photo(dir).string();
  const auto up = run_srkit("upscale " + photo + " -o " + (dir / "up.png").string() + " --model " +
                            (dir / "whole/whole.srkit").string() + " -q");
  EXPECT_EQ(up.exit_code, 0) << up.err;
}

}  // namespace
}  // namespace srkit
