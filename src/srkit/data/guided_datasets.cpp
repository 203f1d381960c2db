#include "srkit/data/guided_datasets.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <random>

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/core/resource_paths.h"
#include "srkit/data/guide_synthesis.h"
#include "srkit/data/guided_protocol.h"
#include "srkit/io/depth_file.h"
#include "srkit/io/image_io.h"
#include "srkit/io/nifti_file.h"
#include "srkit/io/raster_file.h"
#include "srkit/ops/geometry.h"

namespace srkit {
namespace {

namespace fs = std::filesystem;

fs::path require(const fs::path& path) {
  if (!fs::exists(path)) {
    throw setup_error(path.string() + " is missing: run scripts/setup.sh to fetch the guided-SR data");
  }
  return path;
}

std::string frame_name(int frame) {
  char name[8];
  std::snprintf(name, sizeof name, "%04d", frame);
  return name;
}

// --- depth -----------------------------------------------------------------------------------

constexpr int kCastleTrainLast = 28, kCastleTestFirst = 33, kCastleFrames = 40;

std::vector<GuidedScene> depth_scenes(const fs::path& root, GuidedSplit split) {
  std::vector<GuidedScene> scenes;
  if (split == GuidedSplit::kValidation) return scenes;
  const int first = split == GuidedSplit::kTrain ? 1 : kCastleTestFirst;
  const int last = split == GuidedSplit::kTrain ? kCastleTrainLast : kCastleFrames;
  for (int frame = first; frame <= last; ++frame) {
    const auto name = frame_name(frame);
    GuidedScene scene;
    scene.task = GuidedTask::kDepth;
    scene.name = "castle/" + name;
    // 0 marks pixels with no surface (the background behind the model): unknown, as a depth
    // sensor's zeros are.
    const auto depth = read_depth_map(require(root / "castle" / ("Depth_" + name + ".bin")));
    scene.target = torch::where(depth > 0, depth, torch::full_like(depth, NAN)).unsqueeze(0);
    // The frames are gray; MAG-Net's depth head takes an RGB guide.
    scene.guide = read_image(require(root / "castle" / ("Image_" + name + ".pgm")))
                      .pixels.expand({3, -1, -1})
                      .contiguous();
    scene.units = "ViSP depth units (uint16 as stored)";
    scenes.push_back(std::move(scene));
  }
  if (split == GuidedSplit::kTest) {
    GuidedScene scene;
    scene.task = GuidedTask::kDepth;
    scene.name = "middlebury/motorcycle";
    scene.target =
        read_depth_map(require(root / "middlebury" / "motorcycle_disp.npz")).unsqueeze(0);
    scene.guide = read_image(require(root / "middlebury" / "motorcycle_left.png")).pixels;
    scene.units = "disparity (pixels)";
    scenes.push_back(std::move(scene));
  }
  return scenes;
}

// --- pansharpening ---------------------------------------------------------------------------

// Rows of the ETM+ scene: train above, test below, 16 rows apart.
constexpr int64_t kEtmTrainRows = 240, kEtmTestFirstRow = 256;

// Multispectral bands scaled by their common maximum (spectral ratios kept), pan by its own.
torch::Tensor scale_by_max(const torch::Tensor& bands) {
  const double peak = bands.max().item<double>();
  return peak > 0 ? bands / peak : bands;
}

torch::Tensor read_band(const fs::path& folder, const std::string& suffix) {
  for (const auto& entry : fs::directory_iterator(require(folder))) {
    const auto name = entry.path().filename().string();
    if (name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return read_raster(entry.path()).bands;
    }
  }
  throw setup_error((folder / ("*" + suffix)).string() +
                    " is missing: run scripts/setup.sh to fetch the guided-SR data");
}

// A Landsat scene with its real pan: MS (blue, green, red, NIR) at 30 m is the reference; the
// 15 m pan is brought to the 30 m grid by the Wald protocol's MTF-matched decimation by 2.
GuidedScene landsat_scene(const fs::path& folder, const std::string& name,
                          const std::vector<std::string>& ms_suffixes) {
  std::vector<torch::Tensor> bands;
  for (const auto& suffix : ms_suffixes) bands.push_back(read_band(folder, suffix));
  auto ms = crop_to_multiple(torch::cat(bands, 0), 4);
  auto pan = crop_to_multiple(read_band(folder, "_B8.TIF"), 8);
  pan = mtf_decimate(pan, 2, kPanNyquistGain);
  const int64_t h = std::min(ms.size(1), pan.size(1)), w = std::min(ms.size(2), pan.size(2));
  GuidedScene scene;
  scene.task = GuidedTask::kPan;
  scene.name = name;
  scene.target = scale_by_max(ms.slice(1, 0, h).slice(2, 0, w)).contiguous();
  scene.guide = scale_by_max(pan.slice(1, 0, h).slice(2, 0, w)).contiguous();
  scene.units = "digital numbers / the scene's multispectral maximum";
  return scene;
}

std::vector<GuidedScene> pan_scenes(const fs::path& root, GuidedSplit split) {
  std::vector<GuidedScene> scenes;
  if (split == GuidedSplit::kValidation) return scenes;
  // ETM+ bands 1-4 (blue, green, red, NIR) of the 6-band scene; its pan is synthesised as the mean
  // of bands 2-4, which span the ETM+ pan's 0.52-0.90 um.
  const auto etm = read_raster(require(root / "etm" / "L7_ETMs.tif")).bands;
  const auto rows = split == GuidedSplit::kTrain
                        ? etm.slice(1, 0, kEtmTrainRows)
                        : etm.slice(1, kEtmTestFirstRow, etm.size(1));
  const auto region = crop_to_multiple(rows, 4);
  GuidedScene scene;
  scene.task = GuidedTask::kPan;
  scene.name = split == GuidedSplit::kTrain ? "etm/train" : "etm/test";
  scene.target = scale_by_max(region.slice(0, 0, 4)).contiguous();
  scene.guide = scale_by_max(region.slice(0, 1, 4).mean(0, true)).contiguous();
  scene.units = "digital numbers / the region's multispectral maximum";
  scene.synthetic_guide = true;
  scenes.push_back(std::move(scene));
  if (split == GuidedSplit::kTest) {
    scenes.push_back(landsat_scene(root / "landsat8", "landsat8",
                                   {"_B2.TIF", "_B3.TIF", "_B4.TIF", "_B5.TIF"}));
    scenes.push_back(landsat_scene(root / "landsat7", "landsat7",
                                   {"_B1.TIF", "_B2.TIF", "_B3.TIF", "_B4.TIF"}));
  }
  return scenes;
}

// --- MRI -------------------------------------------------------------------------------------

constexpr double kValidationFraction = 0.1;
constexpr uint64_t kMriSplitSeed = 5;
constexpr int64_t kExcludedAroundTest = 10;  // slices (1 mm each) kept away from the test slice

// Colin27 axial slices that show the head (over 20 % of the slice above 5 % of the maximum).
std::vector<int64_t> head_slices(const torch::Tensor& volume) {
  std::vector<int64_t> slices;
  for (int64_t z = 0; z < volume.size(0); ++z) {
    if ((volume[z] > 0.05).to(torch::kDouble).mean().item<double>() > 0.2) slices.push_back(z);
  }
  return slices;
}

// The Colin27 axial slice most correlated with the test slice: BrainWeb's phantom was built from
// the same Colin27 brain on the same 181x217 grid, so training must stay away from it.
int64_t matching_slice(const torch::Tensor& volume, const torch::Tensor& test_t1) {
  const auto t = (test_t1 - test_t1.mean()).flatten();
  int64_t best = 0;
  double best_r = -2;
  for (int64_t z = 0; z < volume.size(0); ++z) {
    const auto s = (volume[z] - volume[z].mean()).flatten();
    const double denominator = (s.norm() * t.norm()).item<double>();
    const double r = denominator > 0 ? (s * t).sum().item<double>() / denominator : -1;
    if (r > best_r) best_r = r, best = z;
  }
  return best;
}

std::vector<GuidedScene> mri_scenes(const fs::path& root, GuidedSplit split) {
  const auto t1_test = read_image(require(root / "brainweb" / "BrainT1Slice.png")).pixels.slice(0, 0, 1);
  if (split == GuidedSplit::kTest) {
    GuidedScene scene;
    scene.task = GuidedTask::kMri;
    scene.name = "brainweb";
    scene.target = t1_test.contiguous();
    scene.guide = read_image(require(root / "brainweb" / "BrainProtonDensitySlice.png"))
                      .pixels.slice(0, 0, 1)
                      .contiguous();
    scene.units = "8-bit intensity / 255";
    return {scene};
  }
  const auto colin = read_nifti(require(root / "colin27" / "ch2.nii.gz"));
  // Axial slices [z][y, x] with row 0 at the front, as nifti_slice orients them.
  std::vector<torch::Tensor> axial;
  for (int64_t z = 0; z < colin.voxels.size(0); ++z) axial.push_back(nifti_slice(colin, 2, z));
  auto volume = torch::stack(axial);
  volume = (volume / torch::quantile(volume.flatten().to(torch::kDouble), 0.999).item<double>())
               .clamp(0, 1)
               .to(torch::kFloat);
  const auto pd = synthesize_proton_density(volume);
  const int64_t test_z = matching_slice(volume, t1_test[0]);
  std::vector<int64_t> usable;
  for (int64_t z : head_slices(volume)) {
    if (std::abs(z - test_z) > kExcludedAroundTest) usable.push_back(z);
  }
  std::mt19937_64 rng(kMriSplitSeed);
  std::shuffle(usable.begin(), usable.end(), rng);
  const auto validation_count =
      static_cast<size_t>(std::lround(kValidationFraction * static_cast<double>(usable.size())));
  const bool validation = split == GuidedSplit::kValidation;
  std::vector<int64_t> chosen(validation ? usable.begin() : usable.begin() + validation_count,
                              validation ? usable.begin() + validation_count : usable.end());
  std::sort(chosen.begin(), chosen.end());
  std::vector<GuidedScene> scenes;
  for (int64_t z : chosen) {
    GuidedScene scene;
    scene.task = GuidedTask::kMri;
    scene.name = "colin27/z" + std::to_string(z);
    scene.target = volume[z].unsqueeze(0).contiguous();
    scene.guide = pd[z].unsqueeze(0).contiguous();
    scene.units = "T1 intensity / the volume's 99.9th percentile";
    scene.synthetic_guide = true;
    scenes.push_back(std::move(scene));
  }
  return scenes;
}

}  // namespace

std::vector<GuidedScene> load_guided_scenes(GuidedTask task, GuidedSplit split,
                                            const std::filesystem::path& root) {
  const fs::path folder = root.empty() ? data_root() / "guided" : root;
  switch (task) {
    case GuidedTask::kDepth:
      return depth_scenes(folder, split);
    case GuidedTask::kPan:
      return pan_scenes(folder, split);
    case GuidedTask::kMri:
      return mri_scenes(folder, split);
  }
  return {};
}

GuidedSplit parse_guided_split(const std::string& name) {
  if (name == "train") return GuidedSplit::kTrain;
  if (name == "validation") return GuidedSplit::kValidation;
  if (name == "test") return GuidedSplit::kTest;
  throw usage_error("unknown split '" + name + "': choose train, validation or test");
}

namespace {

uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (a + 1) + 0xBF58476D1CE4E5B9ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

GuidedPatchSampler::GuidedPatchSampler(const std::vector<GuidedTask>& tasks, GuidedSplit split,
                                       const GuidedPatchOptions& options,
                                       const std::filesystem::path& root)
    : tasks_(tasks), options_(options) {
  if (tasks.empty()) throw usage_error("guided training needs at least one task");
  for (size_t t = 0; t < tasks.size(); ++t) {
    auto scales = t < options.scales.size() && !options.scales[t].empty()
                      ? options.scales[t]
                      : guided_task_info(tasks[t]).scales;
    int64_t largest = 1;
    for (int64_t s : scales) {
      if (s < 1 || options.patch % s != 0) {
        throw usage_error("the patch side " + std::to_string(options.patch) +
                          " must be a multiple of every scale (" + std::to_string(s) + ")");
      }
      largest = std::max(largest, s);
    }
    std::vector<Prepared> prepared;
    bool synthetic = true;  // every scene's guide is synthesised from its target
    for (const auto& scene : load_guided_scenes(tasks[t], split, root)) {
      synthetic = synthetic && scene.synthetic_guide;
      Prepared p;
      p.target = crop_to_multiple(scene.target, largest);
      p.guide = crop_to_multiple(scene.guide, largest);
      if (p.target.size(1) < options.patch || p.target.size(2) < options.patch) continue;
      for (int64_t s : scales) p.lr.push_back(degrade_guided_target(tasks[t], p.target, s, options.mri));
      prepared.push_back(std::move(p));
    }
    if (prepared.empty()) {
      throw usage_error("no " + guided_task_info(tasks[t]).name + " training scene holds a " +
                        std::to_string(options.patch) + "-pixel patch");
    }
    std::optional<GuideRandomizer> randomizer;
    if (options.randomize_synthetic_guides && synthetic) {
      std::vector<torch::Tensor> targets;
      for (const auto& p : prepared) targets.push_back(p.target);
      randomizer.emplace(tasks[t], targets);
    }
    randomizers_.push_back(std::move(randomizer));
    scales_.push_back(scales);
    scenes_.push_back(std::move(prepared));
  }
}

GuidedBatch GuidedPatchSampler::batch(int64_t step, uint64_t seed) const {
  const auto count = static_cast<int64_t>(tasks_.size());
  std::vector<int64_t> order(count);
  for (int64_t i = 0; i < count; ++i) order[i] = i;
  std::mt19937_64 block_rng(mix_seed(seed, static_cast<uint64_t>(step / count), 0));
  std::shuffle(order.begin(), order.end(), block_rng);
  const int64_t t = order[step % count];
  std::mt19937_64 rng(mix_seed(seed, static_cast<uint64_t>(step), 1));
  // Guides drawn apart, so that randomising them leaves the patches where they were.
  std::mt19937_64 guide_rng(mix_seed(seed, static_cast<uint64_t>(step), 2));
  const auto& scales = scales_[t];
  const int64_t scale_index = std::uniform_int_distribution<int64_t>(0, scales.size() - 1)(rng);
  const int64_t s = scales[scale_index], p = options_.patch;

  GuidedBatch out;
  out.task = tasks_[t];
  out.scale = s;
  std::vector<torch::Tensor> lrs, guides, targets;
  for (int64_t i = 0; i < options_.batch; ++i) {
    torch::Tensor target, guide, lr;
    for (int attempt = 0; attempt < 20; ++attempt) {
      const auto& scene = scenes_[t][std::uniform_int_distribution<size_t>(0, scenes_[t].size() - 1)(rng)];
      const int64_t y = s * std::uniform_int_distribution<int64_t>(0, (scene.target.size(1) - p) / s)(rng);
      const int64_t x = s * std::uniform_int_distribution<int64_t>(0, (scene.target.size(2) - p) / s)(rng);
      target = scene.target.slice(1, y, y + p).slice(2, x, x + p);
      guide = scene.guide.slice(1, y, y + p).slice(2, x, x + p);
      lr = scene.lr[scale_index].slice(1, y / s, (y + p) / s).slice(2, x / s, (x + p) / s);
      const double known = torch::isfinite(target).to(torch::kDouble).mean().item<double>();
      if (known >= options_.min_known) break;
    }
    if (randomizers_[t]) guide = randomizers_[t]->draw(target, guide_rng);
    const int transform = std::uniform_int_distribution<int>(0, 7)(rng);
    lrs.push_back(dihedral(lr, transform));
    guides.push_back(dihedral(guide, transform));
    targets.push_back(dihedral(target, transform));
  }
  out.target_lr = torch::stack(lrs).contiguous();
  out.guide = torch::stack(guides).contiguous();
  out.target = torch::stack(targets).contiguous();
  return out;
}

}  // namespace srkit
