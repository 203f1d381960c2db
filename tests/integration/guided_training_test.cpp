// Training MAG-Net through `srkit train` with a magnet config: the task-mixing sampler,
// resumption, the exported model in `srkit guide --model`.
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/data/guided_datasets.h"
#include "srkit/data/guided_protocol.h"
#include "srkit/io/image_io.h"
#include "srkit/models/guided_model.h"
#include "srkit/train/guided_train_config.h"
#include "srkit/train/train_config.h"
#include "test_data.h"

namespace srkit {
namespace {

using testing::contains;
using testing::data_path;
using testing::log_records;
using testing::run_srkit;
using testing::TempDir;

TEST(GuidedSampler, TasksTakeTurnsAndBatchesArePureFunctionsOfTheStep) {
  GuidedPatchOptions options;
  options.patch = 32;
  options.batch = 2;
  options.scales = {{4}, {4}, {2}};
  const GuidedPatchSampler sampler({GuidedTask::kDepth, GuidedTask::kPan, GuidedTask::kMri},
                                   GuidedSplit::kTrain, options);
  for (int64_t block = 0; block < 4; ++block) {
    std::set<GuidedTask> seen;
    for (int64_t i = 0; i < 3; ++i) seen.insert(sampler.batch(3 * block + i, 7).task);
    EXPECT_EQ(seen.size(), 3u) << "block " << block;  // each task once per block of 3 steps
  }
  for (int64_t step = 0; step < 6; ++step) {
    const auto a = sampler.batch(step, 7), b = sampler.batch(step, 7);
    EXPECT_TRUE(torch::equal(a.guide, b.guide));
    EXPECT_TRUE(torch::equal(a.target_lr, b.target_lr));
    const auto& info = guided_task_info(a.task);
    EXPECT_EQ(a.target_lr.sizes(),
              torch::IntArrayRef({2, info.target_channels, 32 / a.scale, 32 / a.scale}));
    EXPECT_EQ(a.guide.sizes(), torch::IntArrayRef({2, info.guide_channels, 32, 32}));
    EXPECT_TRUE(torch::isfinite(a.target_lr).all().item<bool>());
    if (a.task == GuidedTask::kDepth) {
      EXPECT_GE(torch::isfinite(a.target).to(torch::kDouble).mean().item<double>(), 0.5);
    }
  }
}

TEST(GuidedSampler, RandomisedGuidesChangeOnlyTheSynthesisedOnes) {
  // Same seed and steps with and without randomisation: depth (real guides) batches are the
  // same; pan and MR guides differ, while their targets are cut from the same places.
  GuidedPatchOptions options;
  options.patch = 32;
  options.batch = 2;
  options.scales = {{4}, {4}, {2}};
  const std::vector<GuidedTask> tasks{GuidedTask::kDepth, GuidedTask::kPan, GuidedTask::kMri};
  const GuidedPatchSampler fixed(tasks, GuidedSplit::kTrain, options);
  options.randomize_synthetic_guides = true;
  const GuidedPatchSampler randomised(tasks, GuidedSplit::kTrain, options);
  for (int64_t step = 0; step < 6; ++step) {
    const auto a = fixed.batch(step, 11), b = randomised.batch(step, 11);
    ASSERT_EQ(a.task, b.task);
    EXPECT_TRUE(torch::equal(b.guide, randomised.batch(step, 11).guide)) << "not a pure function";
    EXPECT_TRUE(torch::equal(torch::nan_to_num(a.target), torch::nan_to_num(b.target)));
    EXPECT_TRUE(torch::equal(a.target_lr, b.target_lr));
    if (a.task == GuidedTask::kDepth) {
      EXPECT_TRUE(torch::equal(a.guide, b.guide));
    } else {
      EXPECT_FALSE(torch::equal(a.guide, b.guide)) << guided_task_info(a.task).name;
      EXPECT_GE(b.guide.min().item<double>(), 0.0);
      EXPECT_LE(b.guide.max().item<double>(), 1.0);
    }
  }
}

TEST(GuidedTrainConfig, EveryShippedConfigReads) {
  // The configs/ a user starts from: each must pass the strict reader it is dispatched to.
  int guided = 0;
  for (const auto& entry : std::filesystem::directory_iterator(
           std::filesystem::path(SRKIT_SOURCE_DIR) / "configs")) {
    if (entry.path().extension() != ".yaml") continue;
    SCOPED_TRACE(entry.path().string());
    if (is_guided_train_config(entry.path())) {
      const auto config = read_guided_train_config(entry.path());
      EXPECT_EQ(config.name, entry.path().stem().string());
      ++guided;
    } else {
      EXPECT_NO_THROW(read_train_config(entry.path()));
    }
  }
  EXPECT_GE(guided, 9);
}

// Found by bench/fuzz.sh (target settings_files): configs/compact_x4.yaml with two bytes turned
// into ones that are not UTF-8 in a value. The error message that quoted the value threw
// nlohmann's type_error past srkit's errors (std::terminate in the fuzz target); now the reader
// refuses the text, naming the file.
TEST(GuidedTrainConfig, TextThatIsNotUtf8IsAUsageError) {
  const auto fixture =
      std::filesystem::path(SRKIT_FIXTURES) / "fuzz" / "train_config_not_utf8.yaml";
  try {
    read_train_config(fixture);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage);
    EXPECT_NE(std::string(e.what()).find("train_config_not_utf8.yaml"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("UTF-8"), std::string::npos) << e.what();
  }
}

void write_config(const std::filesystem::path& path, const std::filesystem::path& output,
                  int steps) {
  std::ofstream(path) << "name: tiny\noutput: " << output.string() << R"(
model:
  architecture: magnet
  dim: 8
  blocks: [1, 1, 1, 1]
  refinement: 1
  heads: [1, 1, 2, 2]
  prompt_count: 4
  prompt_dim: 16
  text_dim: 32
data:
  tasks: [depth, pan, mri]
  scales: {depth: [4], pan: [4], mri: [2]}
  patch: 32
  batch: 2
  seed: 3
optimizer: {type: adam, lr: 1.0e-3}
schedule: {steps: )" << steps << R"(}
checkpoint_every: 100
log_every: 1
)";
}

TEST(GuidedTraining, ResumesTheSameRunAndTheModelServesSrkitGuide) {
  TempDir dir;
  write_config(dir / "whole.yaml", dir / "whole", 6);
  write_config(dir / "parts.yaml", dir / "parts", 6);
  const auto whole = run_srkit("train --config " + (dir / "whole.yaml").string() +
                               " --threads 2 --json -q");
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  EXPECT_TRUE(nlohmann::json::parse(whole.out)["finished"].get<bool>());
  const auto first = run_srkit("train --config " + (dir / "parts.yaml").string() +
                               " --threads 2 --stop-after 4 -q");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const auto second = run_srkit("train --config " + (dir / "parts.yaml").string() +
                                " --threads 2 --resume -q");
  ASSERT_EQ(second.exit_code, 0) << second.err;
  const auto a = log_records(dir / "whole" / "log.jsonl");
  const auto b = log_records(dir / "parts" / "log.jsonl");
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), 6u);
  std::set<std::string> tasks;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]["task"], b[i]["task"]) << i;
    // The same batches and router noise; the first step after a resume may differ from the
    // uninterrupted run in float rounding (the backward, not the data: losses up to the
    // checkpoint's next step are bit-equal), so the curve is compared within 1e-4 relative.
    EXPECT_NEAR(a[i]["loss"].get<double>(), b[i]["loss"].get<double>(),
                1e-4 * a[i]["loss"].get<double>())
        << "step " << i + 1;
    if (i < 5) {
      EXPECT_EQ(a[i]["loss"].get<double>(), b[i]["loss"].get<double>()) << i + 1;
    }
    EXPECT_GT(a[i]["balance"].get<double>(), 0.0) << "step " << i + 1;
    tasks.insert(a[i]["task"].get<std::string>());
  }
  EXPECT_EQ(tasks.size(), 3u);
  // The exported models agree, and srkit guide runs one on files.
  const auto model = dir / "whole" / "tiny.srkit";
  const auto x = load_guided_model(model), y = load_guided_model(dir / "parts" / "tiny.srkit");
  const auto xp = x.network->named_parameters(), yp = y.network->named_parameters();
  // Both runs hold the same weights before step 5's update. An Adam step moves a weight by at most
  // lr (1 - beta1) / sqrt(1 - beta2) = 3.16 lr, so after steps 5 and 6 the runs' weights differ
  // by at most 2 * 2 * 3.16 * lr however the rounding went (the losses above are the real check).
  for (const auto& item : xp) {
    EXPECT_LE((item.value() - yp[item.key()]).abs().max().item<double>(), 1.3e-2) << item.key();
  }
  EXPECT_TRUE(is_guided_model_file(model));
  const auto t1 = read_image(data_path("guided/brainweb/BrainT1Slice.png")).pixels.slice(0, 0, 1);
  write_image(dir / "lr.png",
              degrade_guided_target(GuidedTask::kMri, crop_to_multiple(t1, 2), 2).clamp(0, 1), 8);
  const auto pd = data_path("guided/brainweb/BrainProtonDensitySlice.png").string();
  const auto guided = run_srkit("guide --task mri --model " + model.string() + " --target " +
                                (dir / "lr.png").string() + " --guide " + pd + " -o " +
                                (dir / "sr.png").string() + " --json -q");
  ASSERT_EQ(guided.exit_code, 0) << guided.err;
  EXPECT_EQ(nlohmann::json::parse(guided.out)["method"], "tiny.srkit");
  EXPECT_EQ(read_image(dir / "sr.png").pixels.sizes(), torch::IntArrayRef({1, 216, 180}));
  const auto bench = run_srkit("guide --benchmark --task pan --model " + model.string() +
                               " --usage-plot " + (dir / "usage.png").string() + " --json -q");
  ASSERT_EQ(bench.exit_code, 0) << bench.err;
  const auto pan = nlohmann::json::parse(bench.out)["tasks"][0];
  EXPECT_TRUE(pan["runs"][0]["rows"][0]["metrics"].contains("q2n"));
  ASSERT_EQ(pan["expert_usage"].size(), 3u);  // three routed levels
  for (const auto& level : pan["expert_usage"]) {
    double total = 0;
    for (double fraction : level) total += fraction;
    EXPECT_NEAR(total, 1.0, 1e-9);
  }
  EXPECT_EQ(read_image(dir / "usage.png").pixels.size(0), 3);
  // A guided model given to upscale, and a non-model file given to guide: clear errors naming them.
  const auto upscale = run_srkit("upscale " + (dir / "lr.png").string() + " -o " +
                                 (dir / "up.png").string() + " --model " + model.string());
  EXPECT_EQ(upscale.exit_code, 2);
  EXPECT_TRUE(contains(upscale.err, "srkit guide")) << upscale.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "up.png"));
  const auto wrong = run_srkit("guide --task mri --model " + (dir / "whole.yaml").string() +
                               " --target " + (dir / "lr.png").string() + " --guide " + pd +
                               " -o " + (dir / "x.png").string());
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_TRUE(contains(wrong.err, "whole.yaml")) << wrong.err;
  EXPECT_TRUE(contains(wrong.err, "srkit train")) << wrong.err;
  // A model file cut short (an interrupted copy): damaged, named, no backtrace, no output.
  const auto bytes = std::filesystem::file_size(model);
  std::filesystem::copy_file(model, dir / "cut.srkit");
  std::filesystem::resize_file(dir / "cut.srkit", bytes / 2);
  const auto cut = run_srkit("guide --task mri --model " + (dir / "cut.srkit").string() +
                             " --target " + (dir / "lr.png").string() + " --guide " + pd + " -o " +
                             (dir / "x.png").string());
  EXPECT_EQ(cut.exit_code, 2);
  EXPECT_TRUE(contains(cut.err, "cut.srkit") && contains(cut.err, "damaged")) << cut.err;
  EXPECT_FALSE(contains(cut.err, "frame #")) << cut.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "x.png"));
}

}  // namespace
}  // namespace srkit
