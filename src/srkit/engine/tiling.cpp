#include "srkit/engine/tiling.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/core/runtime.h"

namespace srkit {
namespace {

constexpr double kMemorySafety = 2.0;  // allocator slack and oneDNN scratch beyond the estimate
constexpr int64_t kMinTile = 16;
// Past a few hundred MB of activations a pass is bound by memory traffic, not arithmetic
// (esrgan-medium x4 on a 512x512 photo: 3.4 s as one tile, 2.4 s in the 179-pixel tiles this rule
// picks; bench/run_benchmarks.sh). Tiles are kept to this working set, unless the padding would
// then more than double the work.
constexpr double kWorkingSetBytes = 512.0 * (1 << 20);
constexpr double kMaxPadOverhead = 2.0;  // window area / kept area

// The largest square window whose activations fit in `bytes`.
int64_t window_for(double bytes, double bytes_per_pixel) {
  return static_cast<int64_t>(std::sqrt(bytes / (kMemorySafety * bytes_per_pixel)));
}

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

}  // namespace

std::vector<Span> plan_axis(int64_t length, int64_t tile, int64_t overlap, int64_t pad,
                            int64_t window) {
  // A window as long as the axis sees all of it: one tile keeps everything (smaller tiles would
  // each compute the same whole-axis window).
  if (window >= length) return {Span{0, length, 0}};
  const int64_t keep = std::min(length, tile + overlap);
  std::vector<int64_t> begins;
  for (int64_t begin = 0;; begin += tile) {
    if (begin + keep >= length) {
      begins.push_back(length - keep);  // the last tile ends at the border
      break;
    }
    begins.push_back(begin);
  }
  std::vector<Span> spans;
  for (const int64_t begin : begins) {
    const int64_t window_begin = std::clamp(begin - pad, int64_t{0}, length - window);
    spans.push_back({begin, begin + keep, window_begin});
  }
  return spans;
}

TilePlan plan_tiles(int64_t height, int64_t width, const ModelCard& card,
                    const TileOptions& options, const torch::Device& device) {
  TilePlan plan;
  plan.overlap = std::max<int64_t>(0, options.overlap);
  plan.pad =
      options.pad >= 0 ? options.pad : static_cast<int64_t>(std::ceil(card.receptive_radius));
  plan.tile = options.tile;
  if (plan.tile <= 0 && card.global_context) {
    // Tiles would see other global means than the whole image: one window.
    plan.tile = std::max(height, width);
    plan.pad = 0;
  }
  if (plan.tile <= 0) {
    const double budget = static_cast<double>(
        options.max_memory > 0 ? options.max_memory : default_memory_budget(device));
    const double bytes_per_pixel = std::max(card.peak_bytes_per_input_pixel, 64.0);
    const int64_t margin = 2 * plan.pad + plan.overlap;
    // Smallest window whose padding costs at most kMaxPadOverhead: (w / (w - margin))^2 <= max.
    const auto efficient = static_cast<int64_t>(
        std::ceil(static_cast<double>(margin) / (1.0 - 1.0 / std::sqrt(kMaxPadOverhead))));
    const int64_t window =
        std::min(window_for(budget, bytes_per_pixel),
                 std::max(window_for(kWorkingSetBytes, bytes_per_pixel), efficient));
    plan.tile = std::max(kMinTile, window - margin);
    const bool fits_once = window >= std::max(height, width) + plan.overlap;
    if (options.pad < 0 && !fits_once && window < efficient) {
      // Exact context costs more than kMaxPadOverhead inside the memory budget (a receptive
      // radius of hundreds of pixels, as in 23-block RRDB networks): cap the context so that the
      // padding costs at most that; the blend hides what the cut context changes.
      const double keep = static_cast<double>(window) / std::sqrt(kMaxPadOverhead);
      plan.pad = std::max<int64_t>(
          0, static_cast<int64_t>((static_cast<double>(window) - keep) / 2.0) - plan.overlap);
      plan.tile = std::max(kMinTile, window - 2 * plan.pad - plan.overlap);
    }
  }
  plan.tile = std::max<int64_t>(1, plan.tile);
  // A model with global context needs the whole image: only a single tile is exact.
  plan.exact_pad = card.global_context ? std::numeric_limits<int64_t>::max()
                                       : static_cast<int64_t>(std::ceil(card.receptive_radius));
  plan.window_h = std::min(height, plan.tile + plan.overlap + 2 * plan.pad);
  plan.window_w = std::min(width, plan.tile + plan.overlap + 2 * plan.pad);
  plan.rows = plan_axis(height, plan.tile, plan.overlap, plan.pad, plan.window_h);
  plan.cols = plan_axis(width, plan.tile, plan.overlap, plan.pad, plan.window_w);
  return plan;
}

torch::Tensor blend_windows(const TilePlan& plan, int64_t height, int64_t width, int64_t scale,
                            int64_t out_channels, const torch::TensorOptions& options,
                            const WindowForward& forward, const ProgressFn& progress,
                            int64_t progress_offset, int64_t progress_total) {
  torch::NoGradGuard no_grad;  // plain tensors out, so callers may modify them in place
  const auto device = options.device();
  auto output = torch::zeros({out_channels, height * scale, width * scale}, options);
  // Every tile's blending weight is row_weight(y) * col_weight(x), and the tiles are all pairs of a
  // row span and a column span, so the total weight at (y, x) is row_total(y) * col_total(x).
  auto row_total = torch::zeros({height * scale}, options);
  auto col_total = torch::zeros({width * scale}, options);
  std::vector<torch::Tensor> col_weights;
  for (const auto& col : plan.cols) {
    col_weights.push_back(axis_weight(col, width, plan.overlap, scale).to(device));
    col_total.slice(0, col.keep_begin * scale, col.keep_end * scale).add_(col_weights.back());
  }
  if (progress_total == 0) progress_total = plan.count();

  int64_t done = 0;
  for (const auto& row : plan.rows) {
    const auto row_weight = axis_weight(row, height, plan.overlap, scale).to(device);
    row_total.slice(0, row.keep_begin * scale, row.keep_end * scale).add_(row_weight);
    for (size_t c = 0; c < plan.cols.size(); ++c) {
      const auto& col = plan.cols[c];
      const auto result = forward(row.window_begin, col.window_begin);
      const auto kept = result
                            .slice(1, (row.keep_begin - row.window_begin) * scale,
                                   (row.keep_end - row.window_begin) * scale)
                            .slice(2, (col.keep_begin - col.window_begin) * scale,
                                   (col.keep_end - col.window_begin) * scale);
      output.slice(1, row.keep_begin * scale, row.keep_end * scale)
          .slice(2, col.keep_begin * scale, col.keep_end * scale)
          .add_(kept * row_weight.view({1, -1, 1}) * col_weights[c].view({1, 1, -1}));
      ++done;
      if (!report(progress, progress_offset + done, progress_total)) {
        throw Error(ErrorKind::kCancelled, "cancelled");
      }
    }
  }
  return output.div_(row_total.view({1, -1, 1})).div_(col_total.view({1, 1, -1}));
}

torch::Tensor run_tiled(Model& model, const torch::Tensor& image, const TilePlan& plan,
                        const ProgressFn& progress, int64_t progress_offset,
                        int64_t progress_total) {
  torch::NoGradGuard no_grad;
  // One input buffer for every window: same size, so oneDNN reuses its kernels.
  auto window = torch::empty({1, image.size(0), plan.window_h, plan.window_w}, image.options());
  const WindowForward forward = [&](int64_t top, int64_t left) {
    window[0].copy_(image.slice(1, top, top + plan.window_h).slice(2, left, left + plan.window_w));
    return model.forward(window)[0];
  };
  return blend_windows(plan, image.size(1), image.size(2), model.card().scale,
                       model.card().out_channels, image.options(), forward, progress,
                       progress_offset, progress_total);
}

}  // namespace srkit
