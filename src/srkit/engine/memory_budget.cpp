#include "srkit/engine/memory_budget.h"

#include <algorithm>

namespace srkit {
namespace {

// Resident memory of `srkit upscale` before its first image: shared libraries' pages, the
// allocators' arenas, the thread pools. Measured: bench/gigapixel.sh, its "runtime" line (197 and
// 198 MB for esrgan-slim; Real-ESRGAN x4fast on the same 64x64 image, `srkit upscale` under
// `/usr/bin/time -f %M`: 205 MB).
constexpr int64_t kRuntimeBytes = int64_t{208} << 20;
// The band of output rows is kept within this, as a pass's activations are kept within a working
// set (tiling.cpp): on a wide image the tile-rows of the most efficient tile can be a GB. Measured
// with Real-ESRGAN x4fast, 4096x4096 x4 (bench/gigapixel.sh, docs/results.md): tiles of 604
// (band 481 MB) took 463 s and peaked at 2.22 GB, tiles of 460 (band 368 MB) 492 s and 1.61 GB.
constexpr int64_t kBandBytes = int64_t{352} << 20;
// What the smallest tiles need, the least a pass gets.
constexpr int64_t kLeastPassBytes = int64_t{16} << 20;

}  // namespace

MemoryShares share_memory(int64_t total, const ModelCard& card, int64_t input_bytes,
                          int64_t held_bytes) {
  MemoryShares shares;
  shares.total = total;
  shares.runtime = kRuntimeBytes;
  shares.weights = 2 * card.parameters * static_cast<int64_t>(sizeof(float));
  shares.input = input_bytes;
  shares.held = held_bytes;
  const int64_t free = total - shares.runtime - shares.weights - shares.input - shares.held;
  // A quarter of what is free for the two bands, an eighth for the allocator, the rest for the
  // pass (a band larger than the tile-rows it holds is not used, a pass larger than its working set
  // neither: tiling.cpp). The allocator's share: srkit keeps freed blocks in the heap for its next
  // tensors (core/runtime.cpp), and the heap grows where a new block fits no gap. Real-ESRGAN
  // x4fast, 4096x4096 x4 with a 1 GiB budget and no such share (81 tiles of 456): peaks of 0.76,
  // 0.85, 1.04 and 1.10 GB in four runs of one plan, the heap growing in steps of a window's
  // output (53 MB) as the band being encoded and the windows interleave.
  shares.band = std::clamp<int64_t>(free / 8, int64_t{4} << 20, kBandBytes);
  shares.allocator = std::max<int64_t>(0, free / 8);
  shares.pass = free - shares.allocator - 2 * shares.band;
  shares.over = shares.pass < kLeastPassBytes;
  if (shares.over) shares.pass = kLeastPassBytes;
  return shares;
}

}  // namespace srkit
