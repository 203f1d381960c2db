// Seed 000 (M3ESR) from outside: the modality maps srkit computes from an image, a model upscaled
// whole and in tiles, training that resumes exactly and exports a model `srkit upscale` runs with
// computed and user-given maps and whose weights it draws, and the errors a user meets.
#include <cmath>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "integration/test_data.h"
#include "srkit/core/error.h"
#include "srkit/engine/multimodal_upscale.h"
#include "srkit/io/image_io.h"
#include "srkit/io/numpy_file.h"
#include "srkit/models/multimodal_model.h"
#include "srkit/models/registry.h"
#include "srkit/nn/m3esr.h"
#include "srkit/ops/modality_maps.h"

namespace srkit {
namespace {

namespace fs = std::filesystem;
using testing::contains;
using testing::run_srkit;
using testing::step_records;
using testing::TempDir;

// Two flat halves, left dark red, right light blue.
torch::Tensor halves(int64_t h, int64_t w) {
  auto image = torch::zeros({1, 3, h, w});
  image.slice(3, 0, w / 2).select(1, 0).fill_(0.6);
  image.slice(3, 0, w / 2).select(1, 2).fill_(0.1);
  image.slice(3, w / 2).select(1, 0).fill_(0.2);
  image.slice(3, w / 2).select(1, 1).fill_(0.5);
  image.slice(3, w / 2).select(1, 2).fill_(0.9);
  return image;
}

TEST(ModalityMaps, EdgesLieOnAShapesOutlineAndNowhereInAFlatImage) {
  const auto flat = torch::full({1, 3, 16, 16}, 0.4);
  const auto none = edge_maps(flat, 4);
  EXPECT_EQ(none.sizes(), (std::vector<int64_t>{1, modality_channels("edges"), 64, 64}));
  EXPECT_EQ(none[0][0].abs().max().item<float>(), 0.f);    // no Canny edge
  EXPECT_LT(none[0][1].abs().max().item<float>(), 1e-6f);  // the resize's rounding only
  const auto maps = edge_maps(halves(16, 16), 4);
  // Canny marks the split (columns near 32) and nothing far from it; the gradient peaks there.
  const auto canny_columns = maps[0][0].sum(0);
  EXPECT_GT(canny_columns.slice(0, 28, 36).sum().item<float>(), 60.f);
  EXPECT_EQ(canny_columns.slice(0, 0, 20).sum().item<float>(), 0.f);
  EXPECT_EQ(canny_columns.slice(0, 44).sum().item<float>(), 0.f);
  const auto gradient = maps[0][1][32];
  EXPECT_GT(gradient.slice(0, 28, 36).max().item<float>(), 0.05f);
  EXPECT_LT(gradient.slice(0, 0, 20).max().item<float>(), 1e-6f);
  EXPECT_LE(maps.max().item<float>(), 1.f);
}

TEST(ModalityMaps, SuperpixelsFollowAColourBoundaryAndCarryTheRegionsColour) {
  const auto image = halves(24, 24);
  const auto maps = segmentation_maps(image, 2, 6);
  EXPECT_EQ(maps.sizes(), (std::vector<int64_t>{1, modality_channels("segmentation"), 48, 48}));
  EXPECT_TRUE(torch::equal(maps, segmentation_maps(image, 2, 6)));  // deterministic
  // Every row crosses a boundary at the split (output columns 23-24).
  const auto boundary = maps[0][0];
  EXPECT_EQ(boundary.slice(1, 22, 26).amax(1).min().item<float>(), 1.f);
  // Each side's mean colour is its own flat colour.
  EXPECT_TRUE(torch::allclose(maps[0].slice(0, 1, 4).select(2, 4),
                              image[0].select(2, 2).repeat_interleave(2, 1), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(maps[0].slice(0, 1, 4).select(2, 44),
                              image[0].select(2, 22).repeat_interleave(2, 1), 1e-5, 1e-5));
}

// An x2 M3ESR with random weights (FiLM included, so that the maps matter).
std::unique_ptr<Model> random_model(const fs::path& file, const std::string& fusion) {
  M3esr net(m3esr_config({{"scale", 2},
                          {"features", 8},
                          {"convs_before", 1},
                          {"convs_after", 1},
                          {"expert_features", 4},
                          {"fusion", fusion},
                          {"modalities", {"edges", "segmentation", "depth"}}}));
  torch::manual_seed(9);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : net->parameters()) p.normal_(0, 0.1);
  }
  save_multimodal_model(file, *net, {0.5, 0.5, 0.5}, {{"name", "random-" + fusion}});
  return load_model({file.string()});
}

TEST(MultimodalUpscale, TilesEqualTheWholeAndTheWeightsSumToOne) {
  TempDir dir;
  auto model = random_model(dir / "m.srkit", "dynamic");
  const auto photo = read_image(testing::data_path("samples/butterfly.png")).pixels;
  const auto lr = photo.slice(1, 10, 71).slice(2, 20, 73).contiguous();  // 61 x 53
  ModalityInputs given;
  given.maps["depth"] = torch::linspace(0, 5, 122 * 106).view({1, 122, 106});
  const auto whole = multimodal_upscale(*model, lr, given);
  TileOptions tiles;
  tiles.tile = 24;
  const auto tiled = multimodal_upscale(*model, lr, given, tiles);
  EXPECT_EQ(whole.image.sizes(), (std::vector<int64_t>{3, 122, 106}));
  EXPECT_TRUE(torch::allclose(whole.image, tiled.image, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(whole.weights, tiled.weights, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(whole.weights.sum(0), torch::ones({122, 106}), 1e-5, 1e-5));
  EXPECT_EQ(whole.given, (std::vector<std::string>{"depth"}));
  EXPECT_EQ(whole.computed, (std::vector<std::string>{"edges", "segmentation"}));
  // Without the depth map it is missing: its weight is 0 everywhere.
  const auto without = multimodal_upscale(*model, lr, {});
  EXPECT_EQ(without.missing, (std::vector<std::string>{"depth"}));
  EXPECT_EQ(without.weights[2].abs().max().item<float>(), 0.f);
  EXPECT_FALSE(torch::allclose(without.image, whole.image));
  // A map with channels the modality cannot take names the modality.
  ModalityInputs wrong;
  wrong.maps["edges"] = torch::rand({3, 122, 106});
  try {
    multimodal_upscale(*model, lr, wrong);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage);
    EXPECT_TRUE(contains(e.what(), "edges")) << e.what();
  }
}

struct Runs {
  TempDir dir;
  fs::path train, val;
  Runs() {
    fs::create_directories(dir / "train");
    fs::create_directories(dir / "val");
    fs::copy_file(testing::data_path("samples/astronaut.png"), dir / "train/astronaut.png");
    fs::copy_file(testing::data_path("holdout/graf1.png"), dir / "val/graf1.png");
    train = dir / "train";
    val = dir / "val";
  }

  fs::path config(const std::string& name, const std::string& model, const std::string& section,
                  int steps) const {
    const auto path = dir / (name + ".yaml");
    std::ofstream(path) << "name: " << name << "\noutput: " << (dir / name).string()
                        << "\nmodel:\n  architecture: m3esr\n  scale: 2\n  features: 8\n"
                           "  convs_before: 1\n  convs_after: 1\n  expert_features: 4\n"
                        << model << section << "data:\n  train: " << train.string()
                        << "\n  patch: 32\n  batch: 4\n  degradation: realesrgan\n"
                           "  patches_per_image: 8\n  workers: 2\n  seed: 3\n"
                        << "validation:\n  folder: " << val.string()
                        << "\n  every: 100\n  crop: 32\n"
                           "loss:\n  - type: l1\n"
                           "optimizer:\n  lr: 1.0e-2\n  clip_grad_norm: 1.0\n"
                           "schedule:\n  steps: "
                        << steps
                        << "\n  warmup: 0\nema: 0.5\ncheckpoint_every: 100\nlog_every: 1\n";
    return path;
  }
};

const std::string kDynamic = "  fusion: dynamic\n  modalities: [edges, segmentation]\n";
const std::string kAdaptive =
    "multimodal:\n  temperature: {schedule: adaptive}\n  contribution_every: 2\n"
    "  modality_dropout: 0.3\n  segmentation_region: 4\n";

TEST(MultimodalTraining, ARunResumesExactlyLogsItsFusionAndExportsAModelThatUpscales) {
  Runs runs;
  const auto whole = runs.config("whole", kDynamic, kAdaptive, 5);
  const auto split = runs.config("split", kDynamic, kAdaptive, 5);
  const auto run = run_srkit("train --threads 2 -q --json --config " + whole.string());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_GT(nlohmann::json::parse(run.out)["validation"]["psnr_y"].get<double>(), 10) << run.out;
  ASSERT_EQ(run_srkit("train --threads 2 -q --stop-after 3 --config " + split.string()).exit_code,
            0);
  const auto resumed = run_srkit("train --threads 2 -q --resume --config " + split.string());
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const auto a = step_records(runs.dir / "whole/log.jsonl");
  const auto b = step_records(runs.dir / "split/log.jsonl");
  ASSERT_EQ(a.size(), 5u);
  ASSERT_EQ(b.size(), 5u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]["loss"], b[i]["loss"]) << i;  // the contributions resume with the run
    EXPECT_EQ(a[i]["contributions"], b[i]["contributions"]) << i;
    const auto& w = a[i]["weights"];
    EXPECT_NEAR(w["edges"].get<double>() + w["segmentation"].get<double>(), 1.0, 0.35) << i;
  }
  // Step 0 runs at tau_max; measured contributions then scale each modality's temperature.
  EXPECT_DOUBLE_EQ(a[0]["temperatures"]["edges"].get<double>(), 2.0);
  const auto& last = a.back();
  const double c_edges = last["contributions"]["edges"],
               c_seg = last["contributions"]["segmentation"];
  if (c_edges != c_seg) {
    EXPECT_NE(last["temperatures"]["edges"], last["temperatures"]["segmentation"]);
  }

  const auto model_file = runs.dir / "whole/whole.srkit";
  auto model = load_model({model_file.string()});
  EXPECT_EQ(model->card().task, "multimodal");
  EXPECT_EQ(model->card().inputs, (std::vector<std::string>{"edges", "segmentation"}));
  // Inference computes the segmentation as training did.
  EXPECT_EQ(dynamic_cast<MultimodalModel&>(*model).segmentation_region(), 4);

  // srkit upscale: computed maps, one given by file, the weights drawn.
  const auto photo = read_image(testing::data_path("samples/butterfly.png")).pixels;
  write_image(runs.dir / "small.png", photo.slice(1, 0, 24).slice(2, 0, 32), 8);
  write_image(runs.dir / "edges.png", torch::rand({1, 48, 64}), 8);
  const auto up =
      run_srkit("upscale " + (runs.dir / "small.png").string() + " -o " +
                (runs.dir / "up.png").string() + " --json -q --model " + model_file.string() +
                " --modality edges=" + (runs.dir / "edges.png").string() + " --weights-map " +
                (runs.dir / "weights.png").string());
  ASSERT_EQ(up.exit_code, 0) << up.err;
  const auto report = nlohmann::json::parse(up.out);
  EXPECT_EQ(report["images"][0]["modalities"]["given"], nlohmann::json({"edges"})) << up.out;
  EXPECT_EQ(report["images"][0]["modalities"]["computed"], nlohmann::json({"segmentation"}));
  EXPECT_EQ(read_image(runs.dir / "up.png").pixels.sizes(), (std::vector<int64_t>{3, 48, 64}));
  const auto weights = read_image(runs.dir / "weights.png").pixels;
  EXPECT_EQ(weights.sizes(), (std::vector<int64_t>{3, 48, 64}));
  EXPECT_GT(weights.max().item<float>(), 0.f);
  // Without --json it says which modalities it used.
  const auto said = run_srkit("upscale " + (runs.dir / "small.png").string() + " -o " +
                              (runs.dir / "up2.png").string() + " --model " + model_file.string());
  ASSERT_EQ(said.exit_code, 0) << said.err;
  EXPECT_TRUE(contains(said.err, "computed: edges, segmentation")) << said.err;
}

TEST(MultimodalTraining, EveryBaselineTrainsFromTheSameCode) {
  Runs runs;
  for (const std::string fusion : {"static", "scalar", "concat", "none"}) {
    const auto model =
        fusion == "none" ? "  fusion: none\n" : "  fusion: " + fusion + "\n  modalities: [edges]\n";
    const auto run =
        run_srkit("train --threads 2 -q --config " + runs.config(fusion, model, "", 2).string());
    ASSERT_EQ(run.exit_code, 0) << fusion << run.err;
    const auto records = step_records(runs.dir / fusion / "log.jsonl");
    ASSERT_EQ(records.size(), 2u) << fusion;
    EXPECT_EQ(records[0].contains("weights"), fusion == "static" || fusion == "scalar") << fusion;
    auto loaded = load_model({(runs.dir / fusion / (fusion + ".srkit")).string()});
    EXPECT_EQ(loaded->card().architecture.rfind("m3esr", 0), 0u) << fusion;
  }
}

TEST(MultimodalCli, FlagsThatCannotApplyAreUsageErrorsNamingTheFlag) {
  TempDir dir;
  random_model(dir / "dyn.srkit", "dynamic");
  random_model(dir / "cat.srkit", "concat");
  const auto photo = read_image(testing::data_path("samples/butterfly.png")).pixels;
  write_image(dir / "small.png", photo.slice(1, 0, 16).slice(2, 0, 16), 8);
  const auto upscale = [&](const std::string& flags) {
    return run_srkit("upscale " + (dir / "small.png").string() + " -o " +
                     (dir / "up.png").string() + " -q " + flags);
  };
  const auto expect_usage = [&](const std::string& flags, const std::string& says) {
    const auto run = upscale(flags);
    EXPECT_EQ(run.exit_code, 2) << flags << run.err;
    EXPECT_TRUE(contains(run.err, says)) << flags << run.err;
    EXPECT_FALSE(fs::exists(dir / "up.png")) << flags;
  };
  const auto dyn = "--model " + (dir / "dyn.srkit").string();
  expect_usage("--model bicubic --modality depth=x.png", "--modality");
  expect_usage(dyn + " --modality sound=x.png", "--modality sound");
  expect_usage(dyn + " --modality depth", "NAME=FILE");
  expect_usage(dyn + " --modality depth=" + (dir / "nothing.png").string(), "no such file");
  expect_usage(
      "--model " + (dir / "cat.srkit").string() + " --weights-map " + (dir / "w.png").string(),
      "concat");
  expect_usage(dyn + " --scale 3", "--scale");
  // A folder of depth maps without the input's file names the input.
  fs::create_directories(dir / "depths");
  expect_usage(dyn + " --modality depth=" + (dir / "depths").string(), "small");
  // With the input's file in the folder it runs, and says the depth was given.
  write_image(dir / "depths/small.png", torch::rand({1, 32, 32}), 16);
  const auto run = upscale(dyn + " --json --modality depth=" + (dir / "depths").string());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(nlohmann::json::parse(run.out)["images"][0]["modalities"]["given"],
            nlohmann::json({"depth"}));
  // NAME=none leaves a modality out, even one srkit could compute.
  const auto none =
      run_srkit("upscale " + (dir / "small.png").string() + " -o " + (dir / "none.png").string() +
                " -q --json " + dyn + " --modality edges=none");
  ASSERT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(nlohmann::json::parse(none.out)["images"][0]["modalities"]["missing"],
            nlohmann::json({"edges", "depth"}));
}

TEST(MultimodalFiles, DamagedModelsAndUnusableMapFilesAreErrorsNamingTheFile) {
  TempDir dir;
  // A file whose temperatures do not match its modalities is damaged.
  M3esr net(m3esr_config({{"scale", 2}, {"features", 8}, {"modalities", {"edges", "depth"}}}));
  save_multimodal_model(dir / "bad.srkit", *net, {0.5}, {{"name", "bad"}});
  try {
    load_model({(dir / "bad.srkit").string()});
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kSetup);
    EXPECT_TRUE(contains(e.what(), "bad.srkit")) << e.what();
  }
  const auto refused = [&](const std::string& name, const fs::path& file) {
    try {
      read_modality_inputs({{name, file}}, dir / "photo.png");
      ADD_FAILURE() << file;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUsage);
      EXPECT_TRUE(contains(e.what(), file.filename().string())) << e.what();
    }
  };
  std::ofstream(dir / "empty.txt");
  refused("text", dir / "empty.txt");
  write_npy(dir / "unknown.npy", torch::full({4, 4}, std::nanf("")));
  refused("depth", dir / "unknown.npy");
  std::ofstream(dir / "broken.png") << "not a png";
  refused("edges", dir / "broken.png");
}

TEST(MultimodalTraining, ConfigsThatCannotTrainAreUsageErrorsNamingTheKey) {
  Runs runs;
  const auto expect_refused = [&](const std::string& name, const std::string& model,
                                  const std::string& section, const std::string& says) {
    const auto run =
        run_srkit("train -q --config " + runs.config(name, model, section, 2).string());
    EXPECT_EQ(run.exit_code, 2) << model << section << run.err;
    EXPECT_TRUE(contains(run.err, says)) << run.err;
  };
  expect_refused("depth", "  modalities: [edges, depth]\n", "", "model.modalities: depth");
  expect_refused("kind", kDynamic, "multimodal:\n  temperature: {schedule: linear}\n",
                 "multimodal.temperature.schedule");
  expect_refused("key", kDynamic, "multimodal:\n  align: 0.1\n", "align");
  expect_refused("fusion", "  fusion: mean\n  modalities: [edges]\n", "", "model.fusion");
  expect_refused("dropout", kDynamic, "multimodal:\n  modality_dropout: 2\n", "modality_dropout");
}

}  // namespace
}  // namespace srkit
