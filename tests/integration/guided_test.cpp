// Guided SR on the real data: the fixed splits, the synthesised MR guide, the classical methods
// `srkit guide` on users' files (depth map + photo, MS + pan GeoTIFF, MR slices) and
// `srkit eval --task` on its results.
#include <cmath>
#include <random>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/data/guide_synthesis.h"
#include "srkit/data/guided_datasets.h"
#include "srkit/data/guided_protocol.h"
#include "srkit/io/depth_file.h"
#include "srkit/io/image_io.h"
#include "srkit/io/numpy_file.h"
#include "srkit/io/raster_file.h"
#include "srkit/metrics/depth.h"
#include "srkit/ops/classical_guided.h"
#include "test_data.h"

namespace srkit {
namespace {

using testing::contains;
using testing::data_path;
using testing::run_srkit;
using testing::TempDir;

std::set<std::string> names(const std::vector<GuidedScene>& scenes) {
  std::set<std::string> result;
  for (const auto& scene : scenes) result.insert(scene.name);
  return result;
}

double correlation(const torch::Tensor& a, const torch::Tensor& b) {
  const auto x = a.flatten().to(torch::kDouble), y = b.flatten().to(torch::kDouble);
  const auto dx = x - x.mean(), dy = y - y.mean();
  return ((dx * dy).sum() / (dx.norm() * dy.norm())).item<double>();
}

TEST(GuidedScenes, SplitsAreFixedDisjointAndOnTheTargetsGrid) {
  for (auto task : {GuidedTask::kDepth, GuidedTask::kPan, GuidedTask::kMri}) {
    const auto train = load_guided_scenes(task, GuidedSplit::kTrain);
    const auto test = load_guided_scenes(task, GuidedSplit::kTest);
    ASSERT_FALSE(train.empty());
    ASSERT_FALSE(test.empty());
    for (const auto& name : names(test)) EXPECT_EQ(names(train).count(name), 0u) << name;
    for (const auto* split : {&train, &test}) {
      for (const auto& scene : *split) {
        EXPECT_EQ(scene.target.size(0), guided_task_info(task).target_channels) << scene.name;
        EXPECT_EQ(scene.guide.size(0), guided_task_info(task).guide_channels) << scene.name;
        EXPECT_EQ(scene.guide.sizes().slice(1), scene.target.sizes().slice(1)) << scene.name;
        EXPECT_GE(scene.guide.min().item<float>(), 0) << scene.name;
        EXPECT_LE(scene.guide.max().item<float>(), 1) << scene.name;
      }
    }
  }
  const auto depth_test = names(load_guided_scenes(GuidedTask::kDepth, GuidedSplit::kTest));
  EXPECT_EQ(depth_test.size(), 9u);  // Castle frames 33-40 and the Middlebury motorcycle
  EXPECT_EQ(depth_test.count("middlebury/motorcycle"), 1u);
  const auto pan_test = names(load_guided_scenes(GuidedTask::kPan, GuidedSplit::kTest));
  EXPECT_EQ(pan_test, (std::set<std::string>{"etm/test", "landsat8", "landsat7"}));
  // The MR split is a seeded shuffle: the same on every call, validation apart from training.
  const auto validation = names(load_guided_scenes(GuidedTask::kMri, GuidedSplit::kValidation));
  const auto mri_train = names(load_guided_scenes(GuidedTask::kMri, GuidedSplit::kTrain));
  EXPECT_EQ(validation, names(load_guided_scenes(GuidedTask::kMri, GuidedSplit::kValidation)));
  EXPECT_FALSE(validation.empty());
  for (const auto& name : validation) EXPECT_EQ(mri_train.count(name), 0u) << name;
}

TEST(GuidedScenes, MrTrainingStaysAwayFromTheTestSlicesAnatomy) {
  // BrainWeb's phantom is the Colin27 brain on the same grid: one Colin27 axial slice matches the
  // test slice closely, and training and validation leave out the 10 slices on either side.
  const auto colin = load_guided_scenes(GuidedTask::kMri, GuidedSplit::kTrain);
  const auto validation = load_guided_scenes(GuidedTask::kMri, GuidedSplit::kValidation);
  const auto test = load_guided_scenes(GuidedTask::kMri, GuidedSplit::kTest).front();
  double best = -1;
  for (const auto* split : {&colin, &validation}) {
    for (const auto& scene : *split) best = std::max(best, correlation(scene.target, test.target));
  }
  EXPECT_LT(best, 0.9) << "a training slice is nearly the test slice";
  EXPECT_GT(colin.size(), 80u);
  EXPECT_TRUE(colin.front().synthetic_guide);
  EXPECT_FALSE(test.synthetic_guide);
}

TEST(GuidedScenes, SynthesisedProtonDensityResemblesTheRealOne) {
  // The synthesis (used only for training) applied to the real T1 slice should look like the real
  // PD slice of the same anatomy: positively correlated inside the head, unlike the T1 itself.
  const auto t1 = read_image(data_path("guided/brainweb/BrainT1Slice.png")).pixels[0];
  const auto pd = read_image(data_path("guided/brainweb/BrainProtonDensitySlice.png")).pixels[0];
  const auto synthetic = synthesize_proton_density(t1.unsqueeze(0))[0];
  const auto head = pd > 0.05;
  const double synthetic_r = correlation(synthetic.masked_select(head), pd.masked_select(head));
  const double t1_r = correlation(t1.masked_select(head), pd.masked_select(head));
  EXPECT_GT(synthetic_r, 0.5);
  EXPECT_GT(synthetic_r, t1_r + 0.2);
}

TEST(GuideRandomizer, PanGuidesAreNonNegativeMixturesOfTheBandsThatDifferPerDraw) {
  const auto scene = load_guided_scenes(GuidedTask::kPan, GuidedSplit::kTrain).front();
  const GuideRandomizer random(GuidedTask::kPan, {scene.target});
  const auto patch = scene.target.slice(1, 40, 104).slice(2, 60, 124);
  const auto bands = patch.flatten(1).t().to(torch::kDouble);  // [pixels, 4]
  std::mt19937_64 rng(3);
  torch::Tensor previous;
  for (int draw = 0; draw < 8; ++draw) {
    const auto guide = random.draw(patch, rng);
    ASSERT_EQ(guide.sizes(), torch::IntArrayRef({1, 64, 64}));
    EXPECT_GE(guide.min().item<double>(), 0.0);
    EXPECT_LE(guide.max().item<double>(), 1.0);
    // Least squares of the guide on the bands: an exact fit with non-negative weights.
    const auto g = guide.flatten().to(torch::kDouble).unsqueeze(1);
    const auto weights = std::get<0>(torch::linalg::lstsq(bands, g, {}, {}));
    EXPECT_LT((bands.mm(weights) - g).abs().max().item<double>(), 1e-5) << draw;
    EXPECT_GE(weights.min().item<double>(), -1e-6) << draw;
    if (previous.defined()) {
      EXPECT_GT((guide - previous).abs().max().item<double>(), 1e-3);
    }
    previous = guide;
  }
  EXPECT_THROW(GuideRandomizer(GuidedTask::kDepth, {scene.target}), Error);
}

TEST(GuideRandomizer, ProtonDensityDrawsKeepTheBackgroundAndSpanTheFixedSynthesis) {
  // Draws on the real BrainWeb T1: background stays 0, every draw stays a PD-like contrast
  // (correlated with the real PD inside the head), and the draws vary around the fixed synthesis.
  const auto t1 = read_image(data_path("guided/brainweb/BrainT1Slice.png")).pixels.slice(0, 0, 1);
  const auto pd = read_image(data_path("guided/brainweb/BrainProtonDensitySlice.png")).pixels[0];
  const GuideRandomizer random(GuidedTask::kMri, {t1});
  const auto fixed = synthesize_proton_density(t1)[0];
  const auto head = pd > 0.05;
  std::mt19937_64 rng(5);
  double spread = 0;
  for (int draw = 0; draw < 12; ++draw) {
    const auto guide = random.draw(t1, rng)[0];
    EXPECT_EQ(guide.masked_select(t1[0] == 0).abs().max().item<double>(), 0.0);
    EXPECT_GT(correlation(guide.masked_select(head), pd.masked_select(head)), 0.3) << draw;
    spread = std::max(spread, (guide - fixed).masked_select(head).abs().mean().item<double>());
  }
  EXPECT_GT(spread, 0.02);
}

TEST(ClassicalGuided, ComponentSubstitutionUsesThePanWhereItCarriesTheDetail) {
  // On the ETM+ test region the pan is synthesised from the reference bands, so injecting its
  // detail must beat bicubic clearly; every method returns the target's units and shape.
  const auto scene = load_guided_scenes(GuidedTask::kPan, GuidedSplit::kTest).front();
  ASSERT_EQ(scene.name, "etm/test");
  const auto lr = degrade_guided_target(GuidedTask::kPan, scene.target, 4);
  const auto error = [&](GuidedMethod method) {
    const auto fused = classical_guided_upscale(method, lr, scene.guide);
    EXPECT_EQ(fused.sizes(), scene.target.sizes());
    return (fused - scene.target).pow(2).mean().item<double>();
  };
  const double bicubic = error(GuidedMethod::kBicubic);
  for (auto method : all_guided_methods()) {
    const double e = error(method);
    EXPECT_TRUE(std::isfinite(e)) << guided_method_name(method);
    if (method_is_pansharpening_only(method)) {
      EXPECT_LT(e, 0.7 * bicubic) << guided_method_name(method);
    }
  }
  EXPECT_THROW(classical_guided_upscale(GuidedMethod::kBrovey, lr, scene.guide.expand({3, -1, -1})),
               Error);
}

TEST(GuideCli, DepthMapAndPhotoFromNumpyToFloatTiff) {
  TempDir dir;
  const auto disparity = read_depth_map(data_path("guided/middlebury/motorcycle_disp.npz"));
  const auto reference = crop_to_multiple(disparity.unsqueeze(0), 4);
  const auto lr = degrade_guided_target(GuidedTask::kDepth, reference, 4);
  write_npy(dir / "lr.npy", lr[0]);
  const auto out = dir / "depth.tif";
  const auto result = run_srkit("guide --task depth --target " + (dir / "lr.npy").string() +
                                " --guide " + data_path("guided/middlebury/motorcycle_left.png").string() +
                                " --method joint-bilateral -o " + out.string() + " --json");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json["scale"], 4);
  const auto depth = read_raster(out).bands;  // float32 keeps disparity values
  ASSERT_EQ(depth.sizes(), reference.sizes());
  const auto bicubic = classical_guided_upscale(GuidedMethod::kBicubic, lr, reference);
  // The result is a depth map of the scene: near the bicubic baseline, in disparity pixels.
  const double rmse = depth_rmse(depth[0], reference[0]).rmse;
  EXPECT_LT(rmse, 1.5 * depth_rmse(bicubic[0], reference[0]).rmse);
  EXPECT_LT(rmse, 5.0);
  // Inputs are never overwritten and an existing output is not replaced without --overwrite.
  const auto again = run_srkit("guide --task depth --target " + (dir / "lr.npy").string() +
                               " --guide " + data_path("guided/middlebury/motorcycle_left.png").string() +
                               " -o " + out.string());
  EXPECT_EQ(again.exit_code, 1);  // an output error: this input failed
  EXPECT_TRUE(contains(again.err, out.string())) << again.err;
}

TEST(GuideCli, MultispectralAndPanGeoTiffKeepTheirGeoreference) {
  TempDir dir;
  // Landsat 8 blue..NIR at 30 m as one 4-band GeoTIFF, sharpened with the real 15 m pan band.
  std::vector<torch::Tensor> bands;
  Raster ms;
  for (const char* band : {"B2", "B3", "B4", "B5"}) {
    const auto raster = read_raster(data_path(
        std::string("guided/landsat8/LC08_L1TP_195025_20130707_20170503_01_T1_") + band + ".TIF"));
    bands.push_back(raster.bands);
    ms.geotransform = raster.geotransform;
    ms.projection = raster.projection;
  }
  ms.bands = torch::cat(bands);
  write_raster(dir / "ms.tif", ms);
  const auto pan_path =
      data_path("guided/landsat8/LC08_L1TP_195025_20130707_20170503_01_T1_B8.TIF");
  const auto result = run_srkit("guide --task pan --method gram-schmidt --target " +
                                (dir / "ms.tif").string() + " --guide " + pan_path.string() +
                                " -o " + (dir / "fused.tif").string() + " --quiet");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto fused = read_raster(dir / "fused.tif");
  const auto pan = read_raster(pan_path);
  EXPECT_EQ(fused.bands.sizes(), torch::IntArrayRef({4, 82, 82}));
  EXPECT_EQ(fused.geotransform, pan.geotransform);  // on the pan's 15 m grid
  EXPECT_FALSE(fused.projection.empty());
  // Values stay in the bands' digital numbers: band means close to the multispectral ones.
  const auto fused_means = fused.bands.mean(at::IntArrayRef{1, 2});
  const auto ms_means = ms.bands.mean(at::IntArrayRef{1, 2});
  EXPECT_LT(((fused_means - ms_means).abs() / ms_means).max().item<double>(), 0.05);
}

TEST(GuideCli, MrSlicesAsImagesAndClearErrors) {
  TempDir dir;
  const auto t1 = read_image(data_path("guided/brainweb/BrainT1Slice.png")).pixels.slice(0, 0, 1);
  const auto hr = crop_to_multiple(t1, 2);
  write_image(dir / "t1_lr.png", degrade_guided_target(GuidedTask::kMri, hr, 2).clamp(0, 1), 8);
  const auto pd = data_path("guided/brainweb/BrainProtonDensitySlice.png").string();
  const auto ok = run_srkit("guide --task mri --target " + (dir / "t1_lr.png").string() +
                            " --guide " + pd + " -o " + (dir / "t1.png").string() + " --quiet");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const auto out = read_image(dir / "t1.png");
  EXPECT_EQ(out.pixels.sizes(), hr.sizes());  // the odd-sized guide cropped to 2x the target
  EXPECT_EQ(out.bit_depth, 8);
  // A guide that is not the target's grid times an integer, a missing file, a wrong task.
  const auto wrong = run_srkit("guide --task mri --target " + pd + " --guide " +
                               (dir / "t1_lr.png").string() + " -o " + (dir / "x.png").string());
  EXPECT_EQ(wrong.exit_code, 1);  // an input error
  EXPECT_TRUE(contains(wrong.err, "t1_lr.png")) << wrong.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "x.png"));
  const auto missing = run_srkit("guide --task mri --target " + (dir / "none.png").string() +
                                 " --guide " + pd + " -o " + (dir / "y.png").string());
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_TRUE(contains(missing.err, "none.png")) << missing.err;
  const auto task = run_srkit("guide --task sound --target a --guide b -o c.png");
  EXPECT_EQ(task.exit_code, 2);
  EXPECT_TRUE(contains(task.err, "depth, pan or mri")) << task.err;
}

TEST(GuideCli, BenchmarkReportsEachTasksMetricsPerSceneAndDataset) {
  const auto result = run_srkit("guide --benchmark --task mri -s 2 --method bicubic --json");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(result.out);
  const auto& rows = json["tasks"][0]["runs"][0]["rows"];
  ASSERT_EQ(rows.size(), 2u);  // the BrainWeb slice and its dataset mean
  EXPECT_EQ(rows[0]["scene"], "brainweb");
  EXPECT_GT(rows[0]["metrics"]["psnr"].get<double>(), 25);
  EXPECT_GT(rows[0]["metrics"]["ssim"].get<double>(), 0.8);
  const auto pan = run_srkit("guide --benchmark --task depth --method brovey");
  EXPECT_EQ(pan.exit_code, 2);
  EXPECT_TRUE(contains(pan.err, "--task pan")) << pan.err;
}

TEST(EvalTaskCli, DepthOfAGuideResultIsTheBenchmarksNumber) {
  // A user's round trip: the protocol's LR of the Middlebury map, `srkit guide` -> .npy, `srkit
  // eval --task depth` against the original .npz (larger by the modcrop, unknown pixels as NaN).
  TempDir dir;
  const auto reference_path = data_path("guided/middlebury/motorcycle_disp.npz").string();
  const auto reference = crop_to_multiple(read_depth_map(reference_path).unsqueeze(0), 4);
  write_npy(dir / "lr.npy", degrade_guided_target(GuidedTask::kDepth, reference, 4)[0]);
  const auto guided = run_srkit("guide --task depth --method bicubic --quiet --target " +
                                (dir / "lr.npy").string() + " --guide " +
                                data_path("guided/middlebury/motorcycle_left.png").string() +
                                " -o " + (dir / "motorcycle.npy").string());
  ASSERT_EQ(guided.exit_code, 0) << guided.err;
  const auto evaluated = run_srkit("eval --task depth -s 4 --json " +
                                   (dir / "motorcycle.npy").string() + " " + reference_path);
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.err;
  const auto mine = nlohmann::json::parse(evaluated.out)["mean"];
  const auto benchmark = run_srkit("guide --benchmark --task depth -s 4 --method bicubic --json");
  ASSERT_EQ(benchmark.exit_code, 0) << benchmark.err;
  const auto document = nlohmann::json::parse(benchmark.out);
  nlohmann::json expected;
  for (const auto& row : document["tasks"][0]["runs"][0]["rows"]) {
    if (row["scene"] == "middlebury/motorcycle") expected = row["metrics"];
  }
  ASSERT_FALSE(expected.is_null()) << benchmark.out;
  EXPECT_NEAR(mine["rmse"].get<double>(), expected["rmse"].get<double>(), 1e-6);
  EXPECT_EQ(mine["compared"], expected["compared"]);
  EXPECT_EQ(mine["unknown"], expected["unknown"]);
}

TEST(EvalTaskCli, ZerosAreUnknownDepthAndPanValuesShareOnePeak) {
  TempDir dir;
  // Depth: a 40x40 map with a 10x10 hole of zeros; the result is 2 units off everywhere.
  auto depth = torch::arange(1600, torch::kFloat).reshape({40, 40}) + 100;
  depth.slice(0, 15, 25).slice(1, 15, 25).zero_();
  write_npy(dir / "ref.npy", depth);
  write_npy(dir / "test.npy", depth + 2);
  auto result = run_srkit("eval --task depth --json " + (dir / "test.npy").string() + " " +
                          (dir / "ref.npy").string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto mean = nlohmann::json::parse(result.out)["mean"];
  EXPECT_NEAR(mean["rmse"].get<double>(), 2.0, 1e-6);
  EXPECT_EQ(mean["unknown"], 100);
  EXPECT_EQ(mean["compared"], 28 * 28 - 100);  // 6 px cut off every side
  // Pan: Landsat 8 bands in digital numbers, the result 10 % too bright: SAM 0, PSNR of the
  // relative error on the reference's maximum.
  std::vector<torch::Tensor> bands;
  Raster ms;
  for (const char* band : {"B2", "B3", "B4", "B5"}) {
    bands.push_back(read_raster(data_path(std::string(
        "guided/landsat8/LC08_L1TP_195025_20130707_20170503_01_T1_") + band + ".TIF")).bands);
  }
  ms.bands = torch::cat(bands).to(torch::kFloat);
  write_raster(dir / "ms.tif", ms);
  ms.bands = ms.bands * 1.1;
  write_raster(dir / "bright.tif", ms);
  const auto no_ratio = run_srkit("eval --task pan " + (dir / "bright.tif").string() + " " +
                                  (dir / "ms.tif").string());
  EXPECT_EQ(no_ratio.exit_code, 2);
  EXPECT_TRUE(contains(no_ratio.err, "-s")) << no_ratio.err;
  result = run_srkit("eval --task pan -s 2 --json " + (dir / "bright.tif").string() + " " +
                     (dir / "ms.tif").string());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  mean = nlohmann::json::parse(result.out)["mean"];
  const auto relative = torch::cat(bands).to(torch::kDouble) / torch::cat(bands).max();
  const double expected_psnr = -10 * std::log10((0.1 * relative).square().mean().item<double>());
  EXPECT_NEAR(mean["psnr"].get<double>(), expected_psnr, 1e-3);
  EXPECT_NEAR(mean["sam"].get<double>(), 0.0, 1e-2);
  // MR: an image against itself; a reference of another size names the file.
  const auto t1 = data_path("guided/brainweb/BrainT1Slice.png").string();
  result = run_srkit("eval --task mri --json " + t1 + " " + t1);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NEAR(nlohmann::json::parse(result.out)["mean"]["ssim"].get<double>(), 1.0, 1e-9);
  result = run_srkit("eval --task mri " + (dir / "test.npy").string() + " " + t1);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(contains(result.err, "test.npy")) << result.err;
}

}  // namespace
}  // namespace srkit
