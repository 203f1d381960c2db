#include "srkit/data/datasets.h"

#include <algorithm>
#include <exception>
#include <numeric>
#include <random>
#include <thread>

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/data/realesrgan_degradation.h"
#include "srkit/io/image_io.h"
#include "srkit/ops/color.h"
#include "srkit/ops/geometry.h"
#include "srkit/ops/resize.h"

namespace srkit {
namespace {

// SplitMix64: independent-looking seeds from (seed, a, b) for samples and epochs.
uint64_t mix(uint64_t seed, uint64_t a, uint64_t b = 0) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (a + 1) + 0xBF58476D1CE4E5B9ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

void check_patch(const PatchOptions& options) {
  if (options.scale < 1 || options.patch < options.scale || options.patch % options.scale != 0) {
    throw usage_error("patch size " + std::to_string(options.patch) +
                      " must be a positive multiple of the scale " + std::to_string(options.scale));
  }
  if (options.degradation != "bicubic" && options.degradation != "realesrgan") {
    throw usage_error("degradation " + options.degradation + ": use bicubic or realesrgan");
  }
  if (!(options.hr_downscale >= 1.0)) {
    throw usage_error("hr_downscale " + std::to_string(options.hr_downscale) +
                      " must be at least 1 (photos are only ever shrunk)");
  }
}

}  // namespace

HrFolderDataset::HrFolderDataset(const std::filesystem::path& folder, const PatchOptions& options)
    : options_(options) {
  check_patch(options);
  for (const auto& file : list_image_files(folder)) {
    auto image = as_rgb(read_image(file).pixels);
    if (options.hr_downscale > 1.0) {
      image = resize_bicubic(image, 1.0 / options.hr_downscale).clamp_(0, 1);
    }
    image = image.contiguous();
    if (image.size(1) < options.patch || image.size(2) < options.patch) {
      throw input_error(file.string(),
                        "is smaller than one " + std::to_string(options.patch) + "px patch",
                        "remove it or use a smaller patch");
    }
    images_.push_back(image);
  }
}

Sample HrFolderDataset::get(int64_t index, uint64_t seed) const {
  const auto& image = images_.at(index % static_cast<int64_t>(images_.size()));
  std::mt19937_64 rng(seed);
  const int64_t p = options_.patch;
  const int64_t y = std::uniform_int_distribution<int64_t>(0, image.size(1) - p)(rng);
  const int64_t x = std::uniform_int_distribution<int64_t>(0, image.size(2) - p)(rng);
  auto hr = image.slice(1, y, y + p).slice(2, x, x + p);
  if (options_.augment) hr = dihedral(hr, std::uniform_int_distribution<int>(0, 7)(rng));
  hr = hr.contiguous();
  const torch::Tensor lr =
      options_.degradation == "realesrgan"
          ? realesrgan_degrade(hr, options_.scale, rng())
          : stored_values(resize_bicubic(hr, 1.0 / static_cast<double>(options_.scale)), 8);
  return {lr, hr};
}

PairedFolderDataset::PairedFolderDataset(const std::filesystem::path& lr_folder,
                                         const std::filesystem::path& hr_folder,
                                         const PatchOptions& options)
    : options_(options) {
  check_patch(options);
  const auto lr_files = list_image_files(lr_folder);
  for (const auto& hr_file : list_image_files(hr_folder)) {
    const auto match = std::find_if(lr_files.begin(), lr_files.end(),
                                    [&](const auto& f) { return f.stem() == hr_file.stem(); });
    if (match == lr_files.end()) {
      throw input_error(hr_file.string(),
                        "has no LR file with the same name in " + lr_folder.string());
    }
    const auto lr = as_rgb(read_image(*match).pixels).contiguous();
    auto hr = as_rgb(read_image(hr_file).pixels).contiguous();
    const int64_t s = options.scale;
    if (hr.size(1) < lr.size(1) * s || hr.size(2) < lr.size(2) * s ||
        hr.size(1) >= (lr.size(1) + 1) * s || hr.size(2) >= (lr.size(2) + 1) * s) {
      throw input_error(match->string(), "is not " + hr_file.string() + " / " + std::to_string(s),
                        "the HR image must be the LR size times the scale");
    }
    if (lr.size(1) * s < options.patch || lr.size(2) * s < options.patch) {
      throw input_error(hr_file.string(), "is smaller than one patch", "use a smaller patch");
    }
    pairs_.push_back({lr, hr.slice(1, 0, lr.size(1) * s).slice(2, 0, lr.size(2) * s)});
  }
}

Sample PairedFolderDataset::get(int64_t index, uint64_t seed) const {
  const auto& pair = pairs_.at(index % static_cast<int64_t>(pairs_.size()));
  std::mt19937_64 rng(seed);
  const int64_t s = options_.scale, q = options_.patch / s;
  const int64_t y = std::uniform_int_distribution<int64_t>(0, pair.lr.size(1) - q)(rng);
  const int64_t x = std::uniform_int_distribution<int64_t>(0, pair.lr.size(2) - q)(rng);
  auto lr = pair.lr.slice(1, y, y + q).slice(2, x, x + q);
  auto hr = pair.hr.slice(1, y * s, (y + q) * s).slice(2, x * s, (x + q) * s);
  if (options_.augment) {
    const int k = std::uniform_int_distribution<int>(0, 7)(rng);
    lr = dihedral(lr, k);
    hr = dihedral(hr, k);
  }
  return {lr.contiguous(), hr.contiguous()};
}

BatchLoader::BatchLoader(const PairDataset& dataset, const LoaderOptions& options)
    : dataset_(dataset), options_(options) {
  if (options.batch < 1 || options.workers < 1 || options.world_size < 1 || options.rank < 0 ||
      options.rank >= options.world_size) {
    throw usage_error("batch, workers and world size must be >= 1 and rank in [0, world size)");
  }
  if (dataset.size() / options.world_size < options.batch) {
    throw usage_error("the dataset has " + std::to_string(dataset.size()) +
                      " samples: too few for one batch of " + std::to_string(options.batch) +
                      " per process");
  }
  start_epoch();
}

void BatchLoader::start_epoch() {
  std::vector<int64_t> permutation(dataset_.size());
  std::iota(permutation.begin(), permutation.end(), 0);
  std::shuffle(permutation.begin(), permutation.end(), std::mt19937_64(mix(options_.seed, epoch_)));
  // Every rank takes the same number of samples (the tail that does not divide is dropped), so all
  // ranks reach the end of an epoch at the same step.
  order_.clear();
  const int64_t share = dataset_.size() / options_.world_size;
  for (int64_t i = 0; i < share; ++i) {
    order_.push_back(permutation[i * options_.world_size + options_.rank]);
  }
}

void BatchLoader::seek(int64_t epoch, int64_t position) {
  epoch_ = epoch;
  position_ = position;
  start_epoch();
}

Batch BatchLoader::next() {
  if (position_ + options_.batch > static_cast<int64_t>(order_.size())) {
    ++epoch_;
    position_ = 0;
    start_epoch();
  }
  std::vector<Sample> samples(options_.batch);
  // A sample's seed is its place in the whole epoch (shared by all ranks), so a data-parallel run
  // sees the same samples as one process with the combined batch.
  const auto make = [&](int64_t i) {
    const int64_t global = (position_ + i) * options_.world_size + options_.rank;
    samples[i] = dataset_.get(order_[position_ + i], mix(options_.seed, epoch_, global));
  };
  const int workers = std::min<int>(options_.workers, static_cast<int>(options_.batch));
  if (workers == 1) {
    for (int64_t i = 0; i < options_.batch; ++i) make(i);
  } else {
    std::vector<std::thread> threads;
    std::vector<std::exception_ptr> failures(workers);
    for (int w = 0; w < workers; ++w) {
      threads.emplace_back([&, w] {
        try {
          for (int64_t i = w; i < options_.batch; i += workers) make(i);
        } catch (...) {
          failures[w] = std::current_exception();  // rethrown below, on the caller's thread
        }
      });
    }
    for (auto& t : threads) t.join();
    for (const auto& failure : failures) {
      if (failure) std::rethrow_exception(failure);
    }
  }
  position_ += options_.batch;
  Batch batch;
  batch.epoch = epoch_;
  std::vector<torch::Tensor> lr, hr;
  for (const auto& s : samples) {
    lr.push_back(s.lr);
    hr.push_back(s.hr);
  }
  batch.lr = torch::stack(lr);
  batch.hr = torch::stack(hr);
  return batch;
}

}  // namespace srkit
