// Training data from real photos: patches and their LR as promised, and batches that depend only on
// the seed: not on the number of loader threads, and split across data-parallel ranks exactly as
// one process with the combined batch would draw them.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/data/datasets.h"
#include "srkit/io/image_io.h"
#include "srkit/metrics/metric.h"
#include "srkit/ops/resize.h"
#include "test_data.h"

namespace srkit {
namespace {

PatchOptions patches(int64_t scale, int64_t patch) {
  PatchOptions options;
  options.scale = scale;
  options.patch = patch;
  return options;
}

LoaderOptions loader(int64_t batch, int workers, int64_t rank = 0, int64_t world = 1) {
  LoaderOptions options;
  options.batch = batch;
  options.seed = 11;
  options.workers = workers;
  options.rank = rank;
  options.world_size = world;
  return options;
}

TEST(Datasets, HrFolderPatchesHaveTheirBicubicLr) {
  const HrFolderDataset photos(testing::data_path("samples"), patches(4, 64));
  EXPECT_EQ(photos.size(), 7);
  for (int64_t i = 0; i < photos.size(); ++i) {
    const auto sample = photos.get(i, 100 + i);
    ASSERT_EQ(sample.hr.sizes(), torch::IntArrayRef({3, 64, 64}));
    EXPECT_TRUE(torch::equal(sample.lr, stored_values(resize_bicubic(sample.hr, 0.25), 8)));
    EXPECT_TRUE(torch::equal(sample.hr, photos.get(i, 100 + i).hr)) << "same seed, same patch";
  }
  EXPECT_FALSE(torch::equal(photos.get(0, 1).hr, photos.get(0, 2).hr));
}

TEST(Datasets, HrDownscaleShrinksEachPhotoOnceWithMatlabBicubic) {
  testing::TempDir folder;
  std::filesystem::copy_file(testing::data_path("samples/butterfly.png"),
                             folder.path() / "butterfly.png");
  PatchOptions options = patches(2, 128);  // butterfly is 256 x 256: half of it is one patch
  options.augment = false;
  options.hr_downscale = 2;
  const HrFolderDataset photos(folder.path(), options);
  const auto whole = read_image(testing::data_path("samples/butterfly.png")).pixels;
  const auto sample = photos.get(0, 5);
  EXPECT_TRUE(torch::allclose(sample.hr, resize_bicubic(whole, 0.5).clamp(0, 1)));
  options.patch = 130;
  EXPECT_THROW(HrFolderDataset(folder.path(), options), std::exception)
      << "a patch larger than the shrunk photo";
  options.patch = 128;
  options.hr_downscale = 0.5;
  EXPECT_THROW(HrFolderDataset(folder.path(), options), std::exception) << "enlarging is refused";
}

TEST(Datasets, BatchesDoNotDependOnTheNumberOfThreads) {
  const HrFolderDataset photos(testing::data_path("samples"), patches(2, 32));
  BatchLoader one(photos, loader(3, 1)), three(photos, loader(3, 3));
  for (int step = 0; step < 5; ++step) {  // crosses two epochs of 7 images
    const auto a = one.next(), b = three.next();
    EXPECT_TRUE(torch::equal(a.hr, b.hr)) << "step " << step;
    EXPECT_TRUE(torch::equal(a.lr, b.lr)) << "step " << step;
    EXPECT_EQ(a.epoch, b.epoch);
  }
  EXPECT_EQ(one.epoch(), 2);
}

TEST(Datasets, RanksShareOutTheCombinedBatch) {
  const HrFolderDataset photos(testing::data_path("samples"), patches(2, 32));
  BatchLoader whole(photos, loader(2, 1)), rank0(photos, loader(1, 1, 0, 2)),
      rank1(photos, loader(1, 1, 1, 2));
  for (int step = 0; step < 6; ++step) {
    const auto all = whole.next(), first = rank0.next(), second = rank1.next();
    EXPECT_TRUE(torch::equal(all.hr[0], first.hr[0])) << "step " << step;
    EXPECT_TRUE(torch::equal(all.hr[1], second.hr[0])) << "step " << step;
  }
}

TEST(Datasets, SeekContinuesWhereACheckpointLeftOff) {
  const HrFolderDataset photos(testing::data_path("samples"), patches(2, 32));
  BatchLoader running(photos, loader(2, 1));
  for (int step = 0; step < 4; ++step) running.next();
  BatchLoader resumed(photos, loader(2, 1));
  resumed.seek(running.epoch(), running.position());
  for (int step = 0; step < 3; ++step) {
    EXPECT_TRUE(torch::equal(running.next().hr, resumed.next().hr)) << "step " << step;
  }
}

TEST(Datasets, PairedFoldersGiveAlignedPatches) {
  testing::TempDir dir;
  ASSERT_EQ(testing::run_srkit("degrade " + testing::data_path("samples").string() + " -o " +
                               (dir / "lr").string() + " --scale 2 -q")
                .exit_code,
            0);
  const PairedFolderDataset pairs(dir / "lr", testing::data_path("samples"), patches(2, 64));
  EXPECT_EQ(pairs.size(), 7);
  for (int64_t i = 0; i < pairs.size(); ++i) {
    const auto sample = pairs.get(i, i);
    ASSERT_EQ(sample.lr.sizes(), torch::IntArrayRef({3, 32, 32}));
    // Aligned: the patch's own bicubic LR matches the file's LR away from the patch border.
    const auto own = resize_bicubic(sample.hr, 0.5).slice(1, 3, 29).slice(2, 3, 29);
    EXPECT_GT(psnr(own, sample.lr.slice(1, 3, 29).slice(2, 3, 29), {0, false}), 40.0)
        << "pair " << i;
  }
}

}  // namespace
}  // namespace srkit
