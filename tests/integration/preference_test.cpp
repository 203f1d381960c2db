// Preference alignment of a flow model as a user runs it (seed 001; train/preference_step.h):
// `srkit train` of a config with init + lora + preference starts where policy == reference (the
// DPO loss is log 2), resumes bit for bit, trains only the adapter's layers and exports a model
// with the adapter merged that `srkit upscale` runs; the adversary is a LoRA run that imitates
// another model (data.imitate), and AS-DPO takes it only when it was trained on the same init.
#include <cmath>
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
using testing::step_records;
using testing::TempDir;

// An x2 flow model with random weights, standing in for the SFT model (`seed` tells two apart).
fs::path sft_model(const TempDir& dir, const std::string& name, uint64_t seed) {
  testing::save_random_flow_model(dir / (name + ".srkit"), name, seed, 2);
  return dir / (name + ".srkit");
}

struct Folders {
  fs::path train, val;
};

Folders photo_folders(const TempDir& dir) {
  fs::create_directories(dir / "train");
  fs::create_directories(dir / "val");
  fs::copy_file(testing::data_path("samples/astronaut.png"), dir / "train/astronaut.png");
  fs::copy_file(testing::data_path("holdout/graf1.png"), dir / "val/graf1.png");
  return {dir / "train", dir / "val"};
}

// A config fine-tuning `init` with a LoRA adapter; `section` adds its own lines (preference, or
// data.imitate via `data_extra`).
fs::path tuning_config(const TempDir& dir, const Folders& folders, const std::string& name,
                       const fs::path& init, const std::string& section,
                       const std::string& data_extra = "", int steps = 6) {
  const auto path = dir / (name + ".yaml");
  std::ofstream(path) << "name: " << name << "\noutput: " << (dir / name).string()
                      << "\ninit: " << init.string()
                      << "\nmodel:\n  architecture: flow_unet\n  scale: 2\n"
                      << "lora:\n  rank: 2\n  alpha: 2\n  targets: ['.*\\.conv[12]']\n"
                      << section << "data:\n  train: " << folders.train.string()
                      << "\n  patch: 32\n  batch: 4\n  degradation: realesrgan\n"
                         "  patches_per_image: 8\n  workers: 2\n  seed: 3\n"
                      << data_extra << "validation:\n  folder: " << folders.val.string()
                      << "\n  every: 100\n  crop: 32\n  steps: 2\n"
                         "loss:\n  - type: mse\n"
                         "optimizer:\n  lr: 1.0e-2\n  clip_grad_norm: 1.0\n"
                         "schedule:\n  steps: "
                      << steps << "\n  warmup: 0\nema: 0\ncheckpoint_every: 100\nlog_every: 1\n";
  return path;
}

const std::string kSobolevDpo =
    "preference:\n  beta: 4000\n  energy: {type: sobolev, s: 1.5, transform: fft-half, "
    "frequency_scale: 0.125}\n";

std::map<std::string, torch::Tensor> weights_of(const fs::path& model_file) {
  const ModelArchive archive(model_file);
  auto model = read_flow_model(archive);
  std::map<std::string, torch::Tensor> weights;
  for (const auto& item : model->network().named_parameters()) {
    weights[item.key()] = item.value().clone();
  }
  return weights;
}

TEST(Preference, SDpoStartsAtLog2ResumesExactlyAndExportsTheAdapterMerged) {
  TempDir dir;
  const auto folders = photo_folders(dir);
  const auto init = sft_model(dir, "sft", 1);
  const auto whole = tuning_config(dir, folders, "whole", init, kSobolevDpo);
  const auto split = tuning_config(dir, folders, "split", init, kSobolevDpo);
  const auto run = run_srkit("train --threads 2 -q --json --config " + whole.string());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(nlohmann::json::parse(run.out).contains("validation"));
  ASSERT_EQ(run_srkit("train --threads 2 -q --stop-after 3 --config " + split.string()).exit_code,
            0);
  const auto resumed = run_srkit("train --threads 2 -q --resume --config " + split.string());
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;

  const auto a = step_records(dir / "whole/log.jsonl"), b = step_records(dir / "split/log.jsonl");
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), 6u);
  // Step 0: the zero-initialised adapter makes the policy the reference.
  EXPECT_NEAR(a[0]["loss"].get<double>(), std::log(2.0), 1e-6);
  EXPECT_EQ(a[0]["data_loser"]["reward_margin"].get<double>(), 0.0);
  EXPECT_EQ(a[0]["data_loser"]["accuracy"].get<double>(), 0.5);
  EXPECT_FALSE(a[0].contains("adversarial_loser"));
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i]["loss"], b[i]["loss"]) << i;  // bit for bit
  // The policy moves away from the reference (a margin once the adapter has trained).
  EXPECT_NE(a.back()["data_loser"]["reward_margin"].get<double>(), 0.0);

  // The export: the adapter merged into the init model's adapted layers only; the adapter apart.
  const auto base = weights_of(init), merged = weights_of(dir / "whole/whole.srkit");
  const auto resumed_merged = weights_of(dir / "split/split.srkit");
  int changed = 0;
  for (const auto& [name, weight] : merged) {
    EXPECT_TRUE(torch::equal(weight, resumed_merged.at(name))) << name;
    const bool adapted = contains(name, ".conv1.weight") || contains(name, ".conv2.weight");
    if (!adapted) {
      EXPECT_TRUE(torch::equal(weight, base.at(name))) << name << " is not adapted";
    } else if (!torch::equal(weight, base.at(name))) {
      ++changed;
    }
  }
  EXPECT_GT(changed, 0);
  const ModelArchive archive(dir / "whole/whole.srkit");
  const auto& about = archive.description();
  ASSERT_EQ(about.at("adapters").size(), 1u);
  EXPECT_EQ(about["adapters"][0]["name"], "whole");
  EXPECT_EQ(about["adapters"][0]["rank"], 2);
  EXPECT_EQ(about["base"]["file"], "sft.srkit");
  EXPECT_EQ(about["preference"]["energy"], "sobolev");
  EXPECT_TRUE(fs::exists(dir / "whole/whole.lora.srkit"));

  // The aligned model upscales, and its card lists the adapter.
  const auto photo = read_image(testing::data_path("samples/butterfly.png")).pixels;
  write_image(dir / "small.png", photo.slice(1, 0, 24).slice(2, 0, 32), 8);
  const auto up =
      run_srkit("upscale " + (dir / "small.png").string() + " -o " + (dir / "up.png").string() +
                " --json -q --model " + (dir / "whole/whole.srkit").string());
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_TRUE(contains(up.out, "\"adapters\"")) << up.out;
}

TEST(Preference, AsDpoTakesAnAdversaryThatImitatesAModelOnTheSameInit) {
  TempDir dir;
  const auto folders = photo_folders(dir);
  const auto init = sft_model(dir, "sft", 1);
  // The adversary: the flow loss toward another upscaler's outputs, on a LoRA adapter.
  const auto adversary =
      tuning_config(dir, folders, "adversary", init, "", "  imitate: default\n", /*steps=*/3);
  const auto trained = run_srkit("train --threads 2 -q --config " + adversary.string());
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const auto adapter = dir / "adversary/adversary.lora.srkit";
  ASSERT_TRUE(fs::exists(adapter));
  EXPECT_EQ(ModelArchive(dir / "adversary/adversary.srkit").description()["imitates"], "default");

  const auto as_dpo = kSobolevDpo + "  adversary: " + adapter.string() + "\n  trust_region: 0.1\n";
  const auto aligned = tuning_config(dir, folders, "asdpo", init, as_dpo, "", /*steps=*/2);
  const auto run = run_srkit("train --threads 2 -q --config " + aligned.string());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto records = step_records(dir / "asdpo/log.jsonl");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_NEAR(records[0]["adversarial_loser"]["loss"].get<double>(), std::log(2.0), 1e-6);
  EXPECT_NEAR(records[0]["loss"].get<double>(), 2 * std::log(2.0), 1e-6);  // both pairs
  EXPECT_EQ(ModelArchive(dir / "asdpo/asdpo.srkit").description()["preference"]["adversary"],
            "adversary.lora.srkit");

  // An adversary trained on another model is refused, naming the key and the fix.
  const auto other = sft_model(dir, "other", 2);
  const auto mismatched = tuning_config(dir, folders, "mismatched", other, as_dpo, "", 2);
  const auto refused = run_srkit("train --threads 2 -q --config " + mismatched.string());
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_TRUE(contains(refused.err, "preference.adversary")) << refused.err;
  EXPECT_TRUE(contains(refused.err, "sft.srkit")) << refused.err;
}

TEST(Preference, ConfigsThatCannotAlignAreUsageErrorsNamingTheKey) {
  TempDir dir;
  const auto folders = photo_folders(dir);
  const auto init = sft_model(dir, "sft", 1);
  const auto expect_refused = [&](const std::string& text, const std::string& says) {
    const auto path = dir / "bad.yaml";
    std::ofstream(path) << text;
    const auto run = run_srkit("train -q --config " + path.string());
    EXPECT_EQ(run.exit_code, 2) << text << run.err;
    EXPECT_TRUE(contains(run.err, says)) << run.err;
  };
  const auto config = [&](const std::string& init_line, const std::string& lora,
                          const std::string& rest) {
    return "name: bad\noutput: " + (dir / "bad").string() + "\n" + init_line +
           "model:\n  architecture: flow_unet\n  scale: 2\n" + lora + rest +
           "data:\n  train: " + folders.train.string() +
           "\n  patch: 32\n  batch: 4\n  patches_per_image: 8\n";
  };
  const std::string init_line = "init: " + init.string() + "\n";
  const std::string lora = "lora: {rank: 2, targets: ['.*conv1']}\n";
  // A flow model's init is declared, so that a config reads without the file.
  expect_refused("name: bad\noutput: " + (dir / "bad").string() + "\n" + init_line +
                     "model:\n  scale: 2\ndata:\n  train: " + folders.train.string() +
                     "\n  patch: 32\n  batch: 4\n  patches_per_image: 8\n",
                 "model.architecture: flow_unet");
  expect_refused(config(init_line, "", kSobolevDpo + "ema: 0\n"), "add a lora section");
  // The adversary imitates a single-image upscaler of the model's scale, not a sampler.
  expect_refused(config(init_line, lora, "ema: 0\n") + "  imitate: " + init.string() + "\n",
                 "is not a single-image x2 upscaler");
  expect_refused(config(init_line, lora, kSobolevDpo), "set ema: 0");
  expect_refused(config(init_line, lora, "preference:\n  energy: {type: l1}\nema: 0\n"),
                 "preference.energy");
  expect_refused(config(init_line, lora, "preference:\n  noise: coupled\nema: 0\n"),
                 "preference.noise");
  expect_refused(
      config(init_line, "lora: {rank: 2, targets: ['nothing']}\n", kSobolevDpo + "ema: 0\n"),
      "'nothing'");
}

}  // namespace
}  // namespace srkit
