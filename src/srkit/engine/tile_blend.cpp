#include "srkit/engine/tile_blend.h"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>

#include "srkit/core/error.h"

namespace srkit {
namespace {

// Blending weight of one tile along one axis, in output pixels: 1 inside, rising over the overlap
// at a start shared with a previous tile and falling over the overlap at a shared end.
torch::Tensor axis_weight(const Span& span, int64_t length, int64_t overlap, int64_t scale) {
  const int64_t n = (span.keep_end - span.keep_begin) * scale;
  const int64_t ramp = std::min(overlap * scale, n);
  auto w = torch::ones({n}, torch::kFloat32);
  if (ramp == 0) return w;
  const auto t = (torch::arange(ramp, torch::kFloat32) + 0.5) / static_cast<double>(ramp);
  const auto rise = 0.5 - 0.5 * torch::cos(t * M_PI);
  if (span.keep_begin > 0) w.slice(0, 0, ramp).copy_(rise);
  if (span.keep_end < length) w.slice(0, n - ramp, n).mul_(rise.flip(0));
  return w;
}

// The first output row that tile-row r + 1 or a later one blends into: every row above it is
// finished once tile-row r is done. Tile-rows are laid top to bottom (plan_axis).
int64_t finished_below(const TilePlan& plan, size_t r, int64_t height, int64_t scale) {
  int64_t first = height * scale;
  for (size_t later = r + 1; later < plan.rows.size(); ++later) {
    first = std::min(first, plan.rows[later].keep_begin * scale);
  }
  return first;
}

}  // namespace

int64_t max_band_rows(const TilePlan& plan, int64_t height, int64_t scale) {
  int64_t most = 0, done = 0;
  for (size_t r = 0; r < plan.rows.size(); ++r) {
    most = std::max(most, plan.rows[r].keep_end * scale - done);
    done = std::max(done, finished_below(plan, r, height, scale));
  }
  return most;
}

void blend_windows_in_bands(const TilePlan& plan, int64_t height, int64_t width, int64_t scale,
                            int64_t out_channels, const torch::TensorOptions& options,
                            const WindowForward& forward, const RowSink& sink,
                            const ProgressFn& progress, int64_t progress_offset,
                            int64_t progress_total) {
  torch::NoGradGuard no_grad;
  const auto device = options.device();
  const int64_t out_width = width * scale;
  // Every tile's blending weight is row_weight(y) * col_weight(x), and the tiles are all pairs of a
  // row span and a column span, so the total weight at (y, x) is row_total(y) * col_total(x).
  const auto weights = options.dtype(torch::kFloat32);
  auto row_total = torch::zeros({height * scale}, weights);
  auto col_total = torch::zeros({out_width}, weights);
  std::vector<torch::Tensor> row_weights, col_weights;
  for (const auto& row : plan.rows) {
    row_weights.push_back(axis_weight(row, height, plan.overlap, scale).to(device));
    row_total.slice(0, row.keep_begin * scale, row.keep_end * scale).add_(row_weights.back());
  }
  for (const auto& col : plan.cols) {
    col_weights.push_back(axis_weight(col, width, plan.overlap, scale).to(device));
    col_total.slice(0, col.keep_begin * scale, col.keep_end * scale).add_(col_weights.back());
  }
  if (progress_total == 0) progress_total = plan.count();
  // Tiles that meet edge to edge (exact ones) are copied in: no pixel is covered twice, every
  // weight and total is 1.
  const bool weighted = plan.overlap > 0 ||
                        !(row_total.eq(1).all().item<bool>() && col_total.eq(1).all().item<bool>());
  TORCH_CHECK(!weighted || c10::isFloatingType(options.dtype().toScalarType()),
              "overlapping tiles are blended in floating point, not in ", options.dtype());

  // band holds output rows [band_begin, band_begin + band.size(1)); rows above band_begin are out.
  const auto buffer =
      torch::zeros({out_channels, max_band_rows(plan, height, scale), out_width}, options);
  int64_t band_begin = 0, band_rows = 0;  // rows [band_begin, band_begin + band_rows) hold sums
  int64_t done = 0;
  for (size_t r = 0; r < plan.rows.size(); ++r) {
    const auto& row = plan.rows[r];
    TORCH_CHECK(row.keep_begin * scale >= band_begin, "tile rows are not laid top to bottom");
    // Grow the band down to this tile-row's last row; the new rows start from zero.
    const int64_t new_rows = row.keep_end * scale - band_begin;
    if (new_rows > band_rows) {
      buffer.slice(1, band_rows, new_rows).zero_();
      band_rows = new_rows;
    }
    const auto band = buffer.slice(1, 0, band_rows);
    const int64_t top = row.keep_begin * scale - band_begin;
    for (size_t c = 0; c < plan.cols.size(); ++c) {
      const auto& col = plan.cols[c];
      const auto result = forward(row.window_begin, col.window_begin);
      const auto kept = result
                            .slice(1, (row.keep_begin - row.window_begin) * scale,
                                   (row.keep_end - row.window_begin) * scale)
                            .slice(2, (col.keep_begin - col.window_begin) * scale,
                                   (col.keep_end - col.window_begin) * scale);
      auto target = band.slice(1, top, top + (row.keep_end - row.keep_begin) * scale)
                        .slice(2, col.keep_begin * scale, col.keep_end * scale);
      if (weighted) {
        target.add_(
            kept.mul_(row_weights[r].view({1, -1, 1})).mul_(col_weights[c].view({1, 1, -1})));
      } else {
        target.copy_(kept);
      }
      ++done;
      if (!report(progress, progress_offset + done, progress_total)) {
        throw Error(ErrorKind::kCancelled, "cancelled");
      }
    }
    // Finish the rows no later tile-row touches and hand them on; move the rest to the top.
    const int64_t finished =
        std::min(finished_below(plan, r, height, scale), band_begin + band_rows);
    const int64_t count = finished - band_begin;
    if (count > 0) {
      auto rows = band.slice(1, 0, count);
      if (weighted) {
        rows.div_(row_total.slice(0, band_begin, finished).view({1, -1, 1}))
            .div_(col_total.view({1, 1, -1}));
      }
      sink(rows, band_begin);
      const int64_t kept_rows = band_rows - count;
      if (kept_rows > 0) {
        // Overlapping ranges: clone the source first.
        buffer.slice(1, 0, kept_rows).copy_(buffer.slice(1, count, band_rows).clone());
      }
      band_begin = finished;
      band_rows = kept_rows;
    }
  }
  TORCH_CHECK(band_begin == height * scale, "the tile rows do not cover the image");
}

torch::Tensor blend_windows(const TilePlan& plan, int64_t height, int64_t width, int64_t scale,
                            int64_t out_channels, const torch::TensorOptions& options,
                            const WindowForward& forward, const ProgressFn& progress,
                            int64_t progress_offset, int64_t progress_total) {
  auto output = torch::empty({out_channels, height * scale, width * scale}, options);
  blend_windows_in_bands(
      plan, height, width, scale, out_channels, options, forward,
      [&](const torch::Tensor& rows, int64_t first_row) {
        output.slice(1, first_row, first_row + rows.size(1)).copy_(rows);
      },
      progress, progress_offset, progress_total);
  return output;
}

}  // namespace srkit
