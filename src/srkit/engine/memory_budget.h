// The memory budget of one upscale (--max-memory), shared out between what the whole run holds:
// the runtime, the model's weights, the decoded input, an output held for a format encoded whole,
// the band of output rows waiting for their neighbours (and the one being encoded), the heap's own
// slack, and what is left, which one forward pass may use and which sizes the tiles (tiling.h).
//
//   const auto shares = srkit::share_memory(int64_t{1} << 30, model.card(), input.nbytes(), 0);
//   options.tiling.max_memory = shares.pass;
#pragma once

#include <cstdint>

#include "srkit/models/model.h"

namespace srkit {

struct MemoryShares {
  int64_t total = 0;      // the budget
  int64_t runtime = 0;    // LibTorch, oneDNN and the codecs, resident before any image (measured)
  int64_t weights = 0;    // the model's parameters, and the blocked copy oneDNN keeps of them
  int64_t input = 0;      // the decoded input, as held
  int64_t held = 0;       // what the caller holds besides (an output encoded whole)
  int64_t band = 0;       // one band of output rows; two are counted (one is being encoded)
  int64_t allocator = 0;  // blocks the heap keeps after they are freed, and the gaps between them
  int64_t pass = 0;       // the rest: what one forward pass may use
  // What the fixed parts, the bands and the allocator leave is less than the smallest tiles need:
  // `pass` is that least, and the run will use more than the budget.
  bool over = false;
};

// Shares `total` bytes for a run of `card` over an input holding `input_bytes`, with `held_bytes`
// held by the caller besides.
MemoryShares share_memory(int64_t total, const ModelCard& card, int64_t input_bytes,
                          int64_t held_bytes);

}  // namespace srkit
