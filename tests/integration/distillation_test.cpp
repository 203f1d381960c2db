// Seed 002 (ICM-SR) end to end: the structure conditions on synthetic images whose colour map and
// edges are known, a structure-conditioned teacher trained and exported, and the one-step
// distillation run by `srkit train` (two updates per step, resumed exactly) whose model
// `srkit upscale` runs in one pass.
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "srkit/core/error.h"
#include "srkit/io/image_io.h"
#include "srkit/models/model_archive.h"
#include "srkit/models/one_step_flow_model.h"
#include "srkit/nn/structure_adapter.h"
#include "srkit/ops/structure_conditions.h"
#include "support/tiny_flow.h"
#include "test_data.h"

namespace srkit {
namespace {

TEST(StructureConditions, AColourMapIsAGridOfCellsOfTheImagesColours) {
  // Four flat quadrants: an 8x8 map of a 64x64 image keeps each quadrant's colour exactly.
  auto image = torch::zeros({1, 3, 64, 64});
  using torch::indexing::Slice;
  image.index_put_({0, 0, Slice(0, 32), Slice(0, 32)}, 1.0);
  image.index_put_({0, 1, Slice(0, 32), Slice(32, 64)}, 0.5);
  image.index_put_({0, 2, Slice(32, 64), Slice()}, 0.25);
  const auto map = colour_map(image, 8);
  ASSERT_EQ(map.sizes(), image.sizes());
  EXPECT_TRUE(torch::allclose(map, image, 0, 1e-6));
  // A smooth ramp becomes 8 flat cells across, each 8 pixels wide, increasing.
  const auto ramp =
      torch::linspace(0, 1, 64).view({1, 1, 1, 64}).expand({1, 3, 64, 64}).contiguous();
  const auto steps = colour_map(ramp, 8);
  for (int64_t cell = 0; cell < 8; ++cell) {
    const auto block = steps.index({0, 0, Slice(), Slice(cell * 8, cell * 8 + 8)});
    EXPECT_EQ((block - block.flatten()[0]).abs().max().item<float>(), 0) << "cell " << cell;
    if (cell > 0) {
      EXPECT_GT(block.flatten()[0].item<float>(), steps[0][0][0][cell * 8 - 1].item<float>());
    }
  }
  // The cell count is a parameter; one that does not fit the image is a usage error.
  EXPECT_EQ(std::get<0>(at::_unique(colour_map(ramp, 4)[0][0][0])).numel(), 4);
  EXPECT_THROW(colour_map(ramp, 65), Error);
  EXPECT_THROW(colour_map(ramp, 0), Error);
}

TEST(StructureConditions, CannyFindsTheEdgesOfAShapeAndNothingInFlatAreas) {
  using torch::indexing::Slice;
  auto image = torch::full({1, 3, 48, 48}, 0.2);
  image.index_put_({0, Slice(), Slice(16, 32), Slice(16, 32)}, 0.9);  // a bright square
  const auto edges = canny_edges(image);
  ASSERT_EQ(edges.sizes(), (std::vector<int64_t>{1, 1, 48, 48}));
  // Edges are 0 or 1, lie on the square's outline (within a pixel), and the flat parts have none.
  EXPECT_TRUE(torch::equal(edges, (edges > 0.5).to(edges.dtype())));
  const auto outline = edges[0][0];
  EXPECT_GT(outline.sum().item<float>(), 4 * 14);
  EXPECT_EQ(outline.index({Slice(0, 14)}).sum().item<float>(), 0);
  EXPECT_EQ(outline.index({Slice(18, 30), Slice(18, 30)}).sum().item<float>(), 0);
  EXPECT_EQ(outline.index({Slice(34, 48)}).sum().item<float>(), 0);
  // A contrast below the low threshold (100 of 8-bit gradient) gives no edges; 100/200 are the
  // defaults and thresholds are parameters.
  auto faint = torch::full({1, 3, 48, 48}, 0.5);
  faint.index_put_({0, Slice(), Slice(16, 32), Slice(16, 32)}, 0.5 + 5.0 / 255);
  EXPECT_EQ(canny_edges(faint).sum().item<float>(), 0);
  EXPECT_GT(canny_edges(faint, 5, 10).sum().item<float>(), 0);
  EXPECT_THROW(canny_edges(image, 200, 100), Error);
}

TEST(StructureConditions, IcmGivesColoursAndEdgesAndDenseGivesTheImage) {
  torch::manual_seed(1);
  const auto image = torch::rand({2, 3, 32, 32});
  const auto icm = structure_conditions(image, StructureConditioning{});
  ASSERT_EQ(icm.size(), 2u);
  EXPECT_TRUE(torch::equal(icm[0], colour_map(image, 8)));
  EXPECT_TRUE(torch::equal(icm[1], canny_edges(image, 100, 200)));
  StructureConditioning dense;
  dense.kind = "dense";
  const auto maps = structure_conditions(image, dense);
  ASSERT_EQ(maps.size(), 1u);
  EXPECT_TRUE(torch::equal(maps[0], image));
  EXPECT_EQ(structure_channels(dense), (std::vector<int64_t>{3}));
  EXPECT_THROW(structure_conditioning({{"kind", "text"}}), Error);
  EXPECT_THROW(structure_conditioning({{"canny", {200, 100}}}), Error);
  EXPECT_THROW(structure_conditioning({{"cels", 8}}), Error);
}

namespace fs = std::filesystem;
using testing::contains;
using testing::run_srkit;
using testing::step_records;
using testing::TempDir;

struct Runs {
  TempDir dir;
  fs::path train, val, sft;
  Runs() {
    fs::create_directories(dir / "train");
    fs::create_directories(dir / "val");
    fs::copy_file(testing::data_path("samples/astronaut.png"), dir / "train/astronaut.png");
    fs::copy_file(testing::data_path("holdout/graf1.png"), dir / "val/graf1.png");
    train = dir / "train";
    val = dir / "val";
    sft = dir / "sft.srkit";  // an x2 flow model with random weights standing in for the SFT one
    testing::save_random_flow_model(sft, "sft", 1, 2);
  }

  // A flow config fine-tuning the SFT model; `section` adds its own lines (structure, distill).
  fs::path config(const std::string& name, const std::string& section, int steps,
                  double ema = 0) const {
    const auto path = dir / (name + ".yaml");
    std::ofstream(path) << "name: " << name << "\noutput: " << (dir / name).string()
                        << "\ninit: " << sft.string()
                        << "\nmodel:\n  architecture: flow_unet\n  scale: 2\n"
                        << section << "data:\n  train: " << train.string()
                        << "\n  patch: 32\n  batch: 4\n  degradation: realesrgan\n"
                           "  patches_per_image: 8\n  workers: 2\n  seed: 3\n"
                        << "validation:\n  folder: " << val.string()
                        << "\n  every: 100\n  crop: 32\n  steps: 2\n"
                           "loss:\n  - type: mse\n"
                           "optimizer:\n  lr: 1.0e-2\n  clip_grad_norm: 1.0\n"
                           "schedule:\n  steps: "
                        << steps << "\n  warmup: 0\nema: " << ema
                        << "\ncheckpoint_every: 100\nlog_every: 1\n";
    return path;
  }
};

const std::string kIcm = "structure:\n  kind: icm\n  cells: 4\n  channels: 8\n  dropout: 0.25\n";

std::string distill_section(const fs::path& teacher, const std::string& extra = "") {
  return "distill:\n  teacher: " + teacher.string() +
         "\n  fake: {rank: 2, alpha: 2, targets: ['.*\\.conv[12]']}\n" + extra;
}

// The weights a flow model file holds (plain, one-step or conditioned), by name.
std::map<std::string, torch::Tensor> stored_weights(const fs::path& file) {
  const ModelArchive archive(file);
  const auto& about = archive.description();
  auto options = about.at("network");
  options.erase("architecture");
  FlowUNet network(flow_unet_options(options));
  std::shared_ptr<torch::nn::Module> module = network.ptr();
  if (archive.architecture() == "flow_unet_conditioned") {
    module = ConditionedFlowUNet(network, structure_adapter_options(about["structure"]["adapter"]))
                 .ptr();
  }
  archive.load_weights(*module);
  std::map<std::string, torch::Tensor> weights;
  for (const auto& item : module->named_parameters()) weights[item.key()] = item.value().clone();
  return weights;
}

TEST(Distillation, AStructureConditionedTeacherTrainsAndIsNoUpscalerOnItsOwn) {
  Runs runs;
  const auto run = run_srkit("train --threads 2 -q --json --config " +
                             runs.config("teacher", kIcm, 3, 0.5).string());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  // Validated with each photo's own structure.
  const auto result = nlohmann::json::parse(run.out);
  EXPECT_EQ(result["validation"]["structure"], "the photo's own") << run.out;
  const auto file = runs.dir / "teacher/teacher.srkit";
  const ModelArchive archive(file);
  EXPECT_EQ(archive.architecture(), "flow_unet_conditioned");
  const auto& about = archive.description();
  EXPECT_EQ(about["structure"]["conditioning"]["kind"], "icm");
  EXPECT_EQ(about["structure"]["conditioning"]["cells"], 4);
  EXPECT_EQ(about["structure"]["adapter"]["branches"], (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(about["base"]["file"], "sft.srkit");
  // The adapter learnt something (its zero-initialised heads moved) and the network too.
  bool heads_moved = false;
  const auto weights = stored_weights(file), sft = stored_weights(runs.sft);
  for (const auto& [name, weight] : weights) {
    if (contains(name, "adapter.") && contains(name, "heads.")) {
      heads_moved = heads_moved || weight.abs().max().item<double>() > 0;
    }
  }
  const bool network_moved =
      !torch::equal(weights.at("network.input.weight"), sft.at("input.weight"));
  EXPECT_TRUE(heads_moved);
  EXPECT_TRUE(network_moved);

  // `srkit upscale` refuses it, saying what it is and what to give instead.
  const auto photo = read_image(testing::data_path("samples/butterfly.png")).pixels;
  write_image(runs.dir / "small.png", photo.slice(1, 0, 24).slice(2, 0, 32), 8);
  const auto refused = run_srkit("upscale " + (runs.dir / "small.png").string() + " -o " +
                                 (runs.dir / "up.png").string() + " -q --model " + file.string());
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_TRUE(contains(refused.err, "distillation teacher")) << refused.err;
  EXPECT_FALSE(fs::exists(runs.dir / "up.png"));
}

TEST(Distillation, TheOneStepGeneratorTrainsAgainstTheFakeScoreResumesExactlyAndUpscales) {
  Runs runs;
  ASSERT_EQ(run_srkit("train --threads 2 -q --config " + runs.config("teacher", kIcm, 2).string())
                .exit_code,
            0);
  const auto teacher = runs.dir / "teacher/teacher.srkit";
  const auto section = distill_section(teacher, "  vsd_weight: 1\n  source: gt\n");
  const auto whole = runs.config("whole", section, 5);
  const auto split = runs.config("split", section, 5);
  const auto run = run_srkit("train --threads 2 -q --json --config " + whole.string());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(nlohmann::json::parse(run.out)["validation"]["steps"], 1) << run.out;
  ASSERT_EQ(run_srkit("train --threads 2 -q --stop-after 2 --config " + split.string()).exit_code,
            0);
  const auto resumed = run_srkit("train --threads 2 -q --resume --config " + split.string());
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;

  const auto a = step_records(runs.dir / "whole/log.jsonl");
  const auto b = step_records(runs.dir / "split/log.jsonl");
  ASSERT_EQ(a.size(), 5u);
  ASSERT_EQ(b.size(), 5u);
  // Step 0: the fake score is the teacher (its adapter starts at zero), so the VSD term is 0.
  EXPECT_EQ(a[0]["vsd"].get<double>(), 0.0);
  EXPECT_GT(a.back()["vsd"].get<double>(), 0.0);  // the fake score has learnt G's outputs
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]["loss"], b[i]["loss"]) << i;  // both updates resume bit for bit
    EXPECT_EQ(a[i]["fake_score_loss"], b[i]["fake_score_loss"]) << i;
    ASSERT_EQ(a[i]["vsd_samples"].size(), 4u);  // each sample's level, gradient RMS, normaliser
    for (const auto& sample : a[i]["vsd_samples"]) {
      EXPECT_GE(sample[0].get<double>(), 0.02);
      EXPECT_LE(sample[0].get<double>(), 0.98);
    }
  }

  // The export is a one-step upscaler: the same weights whole or resumed; it upscales in one pass.
  const auto model_file = runs.dir / "whole/whole.srkit";
  const ModelArchive archive(model_file);
  EXPECT_EQ(archive.architecture(), "flow_unet_one_step");
  EXPECT_EQ(archive.description()["teacher"]["file"], "teacher.srkit");
  EXPECT_EQ(archive.description()["distillation"]["structure"], "icm");
  const auto whole_weights = stored_weights(model_file);
  const auto resumed_weights = stored_weights(runs.dir / "split/split.srkit");
  for (const auto& [name, weight] : whole_weights) {
    EXPECT_TRUE(torch::equal(weight, resumed_weights.at(name))) << name;
  }
  const auto photo = read_image(testing::data_path("samples/butterfly.png")).pixels;
  write_image(runs.dir / "small.png", photo.slice(1, 0, 24).slice(2, 0, 32), 8);
  const auto up =
      run_srkit("upscale " + (runs.dir / "small.png").string() + " -o " +
                (runs.dir / "up.png").string() + " --json -q --model " + model_file.string());
  ASSERT_EQ(up.exit_code, 0) << up.err;
  EXPECT_TRUE(contains(up.out, "flow_unet_one_step")) << up.out;
  EXPECT_EQ(read_image(runs.dir / "up.png").pixels.sizes(), (std::vector<int64_t>{3, 48, 64}));
}

TEST(Distillation, ConfigsThatCannotDistilAreUsageErrorsNamingTheKey) {
  Runs runs;
  const auto expect_refused = [&](const std::string& name, const std::string& section,
                                  const std::string& says) {
    const auto run = run_srkit("train -q --config " + runs.config(name, section, 2).string());
    EXPECT_EQ(run.exit_code, 2) << section << run.err;
    EXPECT_TRUE(contains(run.err, says)) << run.err;
  };
  // Guidance needs a conditioned teacher; the SFT model itself is the unconditioned one.
  expect_refused("guided", distill_section(runs.sft, "  guidance: 2\n"), "distill.guidance");
  expect_refused("source", distill_section(runs.sft, "  source: text\n"), "distill.source");
  expect_refused("levels", distill_section(runs.sft, "  level_min: 0.9\n  level_max: 0.1\n"),
                 "distill.level_min");
  expect_refused(
      "fake",
      "distill:\n  teacher: " + runs.sft.string() + "\n  fake: {rank: 2, targets: ['nothing']}\n",
      "distill.fake");
  expect_refused("missing", distill_section(runs.dir / "none.srkit"), "none.srkit");
  expect_refused("both", kIcm + distill_section(runs.sft), "structure");
  expect_refused("weights", "structure:\n  kind: icm\n  weights: [1]\n", "structure.weights");
  expect_refused("kind", "structure:\n  kind: text\n", "kind");
  // A teacher of another scale.
  FlowModelSettings x4;
  x4.scale = 4;
  FlowUNet network(testing::tiny_flow_options());
  save_flow_model(runs.dir / "x4.srkit", *network, x4, {{"name", "x4"}});
  expect_refused("scale", distill_section(runs.dir / "x4.srkit"), "distill.teacher");
}

}  // namespace
}  // namespace srkit
