#include "srkit/ops/pixel_noise.h"

#include <array>
#include <cmath>

#include <ATen/Parallel.h>
#include <ATen/core/PhiloxRNGEngine.h>

#include "srkit/core/error.h"

namespace srkit {

namespace {

// The counter of one pixel: its column in the low word, its row, its channel, and the sample in
// the high word; the seed is the key. Words are 32 bits, so coordinates stay below 2^32.
std::array<uint32_t, 4> pixel_counter(uint64_t sample, int64_t channel, int64_t y, int64_t x) {
  return {static_cast<uint32_t>(x), static_cast<uint32_t>(y), static_cast<uint32_t>(channel),
          static_cast<uint32_t>(sample)};
}

// Box-Muller on two words: u1 in (0,1] (never 0, so the logarithm is finite), u2 in [0,1).
float standard_normal(uint32_t word1, uint32_t word2) {
  constexpr double kTwoTo32 = 4294967296.0;
  const double u1 = (static_cast<double>(word1) + 1.0) / kTwoTo32;
  const double u2 = static_cast<double>(word2) / kTwoTo32;
  return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
}

}  // namespace

std::array<uint32_t, 4> philox4x32(std::array<uint32_t, 4> counter, uint64_t key) {
  // LibTorch's engine takes the counter as (offset: words 0-1, subsequence: words 2-3).
  const uint64_t offset = counter[0] | (static_cast<uint64_t>(counter[1]) << 32);
  const uint64_t subsequence = counter[2] | (static_cast<uint64_t>(counter[3]) << 32);
  at::Philox4_32 engine(key, subsequence, offset);
  std::array<uint32_t, 4> words{};
  for (auto& word : words) word = engine();
  return words;
}

torch::Tensor pixel_noise(NoiseKey key, int64_t channels, int64_t top, int64_t left, int64_t height,
                          int64_t width) {
  constexpr int64_t kLimit = int64_t{1} << 31;
  if (channels < 0 || height < 0 || width < 0 || top < 0 || left < 0 || top + height > kLimit ||
      left + width > kLimit || channels > kLimit || key.sample >= (uint64_t{1} << 32)) {
    throw usage_error("pixel noise: a window of " + std::to_string(channels) + "x" +
                      std::to_string(height) + "x" + std::to_string(width) + " at (" +
                      std::to_string(top) + ", " + std::to_string(left) + ") of sample " +
                      std::to_string(key.sample) + " is outside the generator's coordinates");
  }
  auto noise = torch::empty({channels, height, width}, torch::kFloat32);
  float* out = noise.data_ptr<float>();
  at::parallel_for(0, channels * height, 16, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t channel = row / std::max<int64_t>(height, 1);
      const int64_t y = top + row % std::max<int64_t>(height, 1);
      float* line = out + row * width;
      for (int64_t i = 0; i < width; ++i) {
        const auto words = philox4x32(pixel_counter(key.sample, channel, y, left + i), key.seed);
        line[i] = standard_normal(words[0], words[1]);
      }
    }
  });
  return noise;
}

}  // namespace srkit
