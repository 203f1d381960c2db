// Training data: pairs of low- and high-resolution patches, drawn reproducibly. A dataset answers
// "sample i of epoch e" from a seed alone, so the same seed gives the same batches whatever the
// number of loader threads, and processes of a data-parallel run can each take their shard.
//
//   srkit::HrFolderDataset photos("photos/", {.scale = 4, .patch = 128});   // LR made on the fly
//   srkit::BatchLoader loader(photos, {.batch = 16, .seed = 1, .workers = 2});
//   auto batch = loader.next();   // batch.lr [16,3,32,32], batch.hr [16,3,128,128]
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

namespace srkit {

struct Sample {
  torch::Tensor lr, hr;  // [3,h,w] and [3,h*scale,w*scale] in [0,1]
};

struct Batch {
  torch::Tensor lr, hr;  // [N,3,h,w] and [N,3,h*scale,w*scale]
  int64_t epoch = 0;
};

// The interface later tasks (guided, multi-modal) extend with more tensors per sample.
class PairDataset {
 public:
  virtual ~PairDataset() = default;
  virtual int64_t size() const = 0;
  // Sample `index` (0..size-1) drawn with `seed`: the same arguments give the same sample.
  virtual Sample get(int64_t index, uint64_t seed) const = 0;
};

struct PatchOptions {
  int64_t scale = 4;
  int64_t patch = 128;                  // HR patch side, a multiple of scale
  bool augment = true;                  // random flips and 90-degree rotations
  std::string degradation = "bicubic";  // how HrFolderDataset makes LR: bicubic or realesrgan
  int64_t patches_per_image = 1;        // samples per image in an epoch (each a random patch)
  // HrFolderDataset shrinks each photo by this factor once, on loading (MATLAB bicubic with its
  // antialiasing): JPEG photos are sharper and their compression artefacts fainter at half size.
  double hr_downscale = 1.0;
};

// HR photos from a folder (decoded once, shrunk by hr_downscale and kept in memory); sample i is a
// random patch of image i mod (number of images), flipped/rotated, with its LR made by the
// degradation and rounded to 8 bits.
class HrFolderDataset : public PairDataset {
 public:
  HrFolderDataset(const std::filesystem::path& folder, const PatchOptions& options);
  int64_t size() const override {
    return static_cast<int64_t>(images_.size()) * options_.patches_per_image;
  }
  Sample get(int64_t index, uint64_t seed) const override;

 private:
  PatchOptions options_;
  std::vector<torch::Tensor> images_;  // [3,H,W]
};

// LR/HR pairs from two folders, matched by file stem; aligned random patches.
class PairedFolderDataset : public PairDataset {
 public:
  PairedFolderDataset(const std::filesystem::path& lr_folder,
                      const std::filesystem::path& hr_folder, const PatchOptions& options);
  int64_t size() const override {
    return static_cast<int64_t>(pairs_.size()) * options_.patches_per_image;
  }
  Sample get(int64_t index, uint64_t seed) const override;

 private:
  PatchOptions options_;
  std::vector<Sample> pairs_;
};

struct LoaderOptions {
  int64_t batch = 16;
  uint64_t seed = 0;
  int workers = 1;         // threads preparing samples of a batch
  int64_t rank = 0;        // this process's shard of each epoch...
  int64_t world_size = 1;  // ...out of this many
};

// Endless batches: each epoch is a seeded permutation of the dataset, dealt round-robin to the
// ranks (rank r takes positions r, r + world, ... of the first floor(N / world) * world); an epoch
// ends when this rank's share has no full batch left, at the same step on every rank. Sample
// randomness comes from (seed, epoch, position), never from the thread.
class BatchLoader {
 public:
  BatchLoader(const PairDataset& dataset, const LoaderOptions& options);
  Batch next();
  int64_t epoch() const { return epoch_; }
  // Where to continue after a checkpoint: epoch and position in it.
  int64_t position() const { return position_; }
  void seek(int64_t epoch, int64_t position);

 private:
  void start_epoch();
  const PairDataset& dataset_;
  LoaderOptions options_;
  int64_t epoch_ = 0, position_ = 0;
  std::vector<int64_t> order_;  // this rank's indices in this epoch
};

}  // namespace srkit
