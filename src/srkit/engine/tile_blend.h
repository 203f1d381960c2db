// Blending tiles into the output one band of rows at a time. The tiles of one tile-row are blended
// into a band of output rows; the rows that no later tile-row touches are then finished and handed
// to a sink, top to bottom, and only the rows the next tile-row still blends into are kept. The
// whole output never exists at once, so a caller can write it to a file as it goes and an image's
// memory is bounded by one band, not by its size.
//
//   blend_windows_in_bands(plan, h, w, scale, channels, options, forward,
//                          [&](const torch::Tensor& rows, int64_t first_row) { ... });
//
// blend_windows (tiling.h) is these bands stacked: the same arithmetic in the same order, so the
// two agree bit for bit (tests/unit/tile_blend_test.cpp checks it against the whole-image blend).
#pragma once

#include <cstdint>
#include <functional>

#include <torch/types.h>

#include "srkit/core/progress.h"
#include "srkit/engine/tiling.h"

namespace srkit {

// Finished output rows [C, n, W*scale], the first of them output row `first_row`. Called top to
// bottom, every output row exactly once; the tensor is only valid during the call, and the sink
// may change it in place (clamp it, say): those rows are finished.
using RowSink = std::function<void(const torch::Tensor& rows, int64_t first_row)>;

// The band is held as `options` says. Its dtype may be an integer one (file samples, with windows
// already quantized) only when the tiles meet edge to edge: they are then copied in, not blended.
void blend_windows_in_bands(const TilePlan& plan, int64_t height, int64_t width, int64_t scale,
                            int64_t out_channels, const torch::TensorOptions& options,
                            const WindowForward& forward, const RowSink& sink,
                            const ProgressFn& progress = {}, int64_t progress_offset = 0,
                            int64_t progress_total = 0);

// The most output rows one band holds for this plan: the band's memory is this many rows of
// [C, W*scale] elements.
int64_t max_band_rows(const TilePlan& plan, int64_t height, int64_t scale);

}  // namespace srkit
