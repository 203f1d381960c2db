#include "srkit/engine/tiling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/core/runtime.h"

namespace srkit {
namespace {

constexpr double kMemorySafety = 2.0;  // allocator slack and oneDNN scratch beyond the estimate
constexpr int64_t kMinTile = 16;
// Tiles are kept to a working set, unless the padding would then more than double the work.
// Larger windows waste less on padding, but the memory they fault in on a first pass costs more
// than that on a photo (esrgan-medium x4 on a 512x512 photo: 3.4 s as one tile, 2.4 s in 179-pixel
// tiles of a 512 MB set; bench/run_benchmarks.sh). Over many tiles the memory is reused and the
// larger set wins (esrgan-medium x4 on a 2048x2048 mosaic: 96 s in tiles of 182, 77 s in tiles of
// 273 from a 1 GB set; docs/results.md, "Gigapixel outputs"): an image with room for at least
// kManyTiles windows of the larger set gets it.
constexpr double kWorkingSetBytes = 512.0 * (1 << 20);
constexpr double kLargeWorkingSetBytes = 1024.0 * (1 << 20);
constexpr double kManyTiles = 16;
constexpr double kMaxPadOverhead = 2.0;  // window area / kept area
// Input pixels blended between tiles whose context is cut short (automatic overlap).
constexpr int64_t kBlendOverlap = 8;

// The largest square window whose activations fit in `bytes`.
int64_t window_for(double bytes, double bytes_per_pixel) {
  return static_cast<int64_t>(std::sqrt(bytes / (kMemorySafety * bytes_per_pixel)));
}

}  // namespace

std::vector<Span> plan_axis(int64_t length, int64_t tile, int64_t overlap, int64_t pad,
                            int64_t window) {
  // A window as long as the axis sees all of it: one tile keeps everything (smaller tiles would
  // each compute the same whole-axis window).
  if (window >= length) return {Span{0, length, 0}};
  const int64_t keep = std::min(length, tile + overlap);
  std::vector<Span> spans;
  for (int64_t begin = 0;; begin += tile) {
    const bool last = begin + keep >= length;
    if (last) begin = length - keep;  // the last window ends at the border
    const int64_t window_begin = std::clamp(begin - pad, int64_t{0}, length - window);
    // Neighbours share exactly `overlap` pixels, the last one too: it keeps less than a tile
    // rather than a wider, lopsided overlap (with none, no pixel is computed twice).
    const int64_t keep_begin = spans.empty() ? begin : spans.back().keep_end - overlap;
    spans.push_back({keep_begin, begin + keep, window_begin});
    if (last) return spans;
  }
}

TilePlan plan_tiles(int64_t height, int64_t width, const ModelCard& card,
                    const TileOptions& options, const torch::Device& device) {
  TilePlan plan;
  const auto radius = static_cast<int64_t>(std::ceil(card.receptive_radius));
  plan.pad = options.pad >= 0 ? options.pad : radius;
  // Exact tiles agree where they meet: nothing to blend, and every pixel is computed once.
  const bool auto_overlap = options.overlap < 0;
  plan.overlap = auto_overlap ? (plan.pad >= radius && !card.global_context ? 0 : kBlendOverlap)
                              : options.overlap;
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
    const auto large = static_cast<double>(window_for(kLargeWorkingSetBytes, bytes_per_pixel));
    const bool many_tiles =
        static_cast<double>(height) * static_cast<double>(width) >= kManyTiles * large * large;
    const double working_set = many_tiles ? kLargeWorkingSetBytes : kWorkingSetBytes;
    const int64_t window = std::min(window_for(budget, bytes_per_pixel),
                                    std::max(window_for(working_set, bytes_per_pixel), efficient));
    plan.tile = std::max(kMinTile, window - margin);
    const bool fits_once = window >= std::max(height, width) + plan.overlap;
    if (options.pad < 0 && !fits_once && window < efficient) {
      // Exact context costs more than kMaxPadOverhead inside the memory budget (a receptive
      // radius of hundreds of pixels, as in 23-block RRDB networks): cap the context so that the
      // padding costs at most that; the blend hides what the cut context changes.
      if (auto_overlap) plan.overlap = kBlendOverlap;  // the seams differ now: blend them
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
  // Even tiles: as many along an axis as tiles of this size need, each as small as that count
  // allows, so that the last one is not a sliver that costs a whole window.
  const auto even = [&](int64_t length) {
    const int64_t covered = std::max<int64_t>(1, length - plan.overlap);
    const int64_t count = (covered + plan.tile - 1) / plan.tile;
    return (covered + count - 1) / count;
  };
  const int64_t tile_h = even(height), tile_w = even(width);
  plan.tile = std::max(tile_h, tile_w);
  plan.window_h = std::min(height, tile_h + plan.overlap + 2 * plan.pad);
  plan.window_w = std::min(width, tile_w + plan.overlap + 2 * plan.pad);
  plan.rows = plan_axis(height, tile_h, plan.overlap, plan.pad, plan.window_h);
  plan.cols = plan_axis(width, tile_w, plan.overlap, plan.pad, plan.window_w);
  return plan;
}

WindowForward model_windows(Model& model, const torch::Tensor& image, const TilePlan& plan) {
  return model_windows(
      model, [image](int64_t top, int64_t count) { return image.slice(1, top, top + count); },
      plan);
}

WindowForward model_windows(Model& model, const InputRowsFn& rows, const TilePlan& plan) {
  // One input buffer for every window (made with the first), shared by copies of the function.
  auto window = std::make_shared<torch::Tensor>();
  return [&model, rows, window, h = plan.window_h, w = plan.window_w](int64_t top, int64_t left) {
    torch::NoGradGuard no_grad;
    const auto source = rows(top, h).slice(2, left, left + w);
    if (!window->defined()) {
      *window = torch::empty({1, source.size(0), h, w}, source.options().dtype(torch::kFloat32));
    }
    (*window)[0].copy_(source);
    if (source.scalar_type() == torch::kUInt8) window->mul_(1.0 / 255.0);  // unit_float, in place
    return model.forward(*window)[0];
  };
}

torch::Tensor run_tiled(Model& model, const torch::Tensor& image, const TilePlan& plan,
                        const ProgressFn& progress, int64_t progress_offset,
                        int64_t progress_total) {
  return blend_windows(plan, image.size(1), image.size(2), model.card().scale,
                       model.card().out_channels, image.options(),
                       model_windows(model, image, plan), progress, progress_offset,
                       progress_total);
}

}  // namespace srkit
