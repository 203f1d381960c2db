// Gaussian noise keyed by position: the value at (channel, y, x) of sample `sample` for `seed` is a
// pure function of those five numbers (Philox4x32-10, the counter-based generator of Salmon et al.,
// SC'11, as LibTorch ships it), so any window of an image draws exactly the noise of the same
// pixels of the whole image. A tiled sampler then reproduces the whole-image sample, and one
// sample of a batch can be redrawn alone.
//
//   // the noise of the window at (top, left) of a 3-channel image, sample 0 of seed 7
//   torch::Tensor e = srkit::pixel_noise({7, 0}, 3, top, left, height, width);
#pragma once

#include <array>
#include <cstdint>

#include <torch/types.h>

namespace srkit {

struct NoiseKey {
  uint64_t seed = 0;
  uint64_t sample = 0;  // which draw of the seed: a sampler's step, an augmentation, a sample index
};

// [channels, height, width] float32 standard normal values of the window whose top-left pixel is
// (top, left) in whole-image coordinates (non-negative, below 2^31), on the CPU.
torch::Tensor pixel_noise(NoiseKey key, int64_t channels, int64_t top, int64_t left, int64_t height,
                          int64_t width);

// The four 32-bit words Philox4x32-10 gives for a 128-bit counter and 64-bit key (tests check them
// against the generator's published known answers).
std::array<uint32_t, 4> philox4x32(std::array<uint32_t, 4> counter, uint64_t key);

}  // namespace srkit
