#include "srkit/engine/upscale.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include <torch/torch.h>

#include "srkit/core/clock.h"
#include "srkit/core/error.h"
#include "srkit/core/runtime.h"
#include "srkit/engine/input_rows.h"
#include "srkit/io/samples.h"
#include "srkit/ops/resize.h"

namespace srkit {
namespace {

bool is_out_of_memory(const c10::Error& e) {
  const std::string what = e.what();
  return dynamic_cast<const c10::OutOfMemoryError*>(&e) != nullptr ||
         what.find("can't allocate memory") != std::string::npos ||
         what.find("out of memory") != std::string::npos;
}

// The type a band of output rows is held in: `samples` (a file's samples, see file_samples) where
// the tiles meet edge to edge and are copied in, float32 where they overlap and are blended.
torch::ScalarType band_type(const TilePlan& plan, torch::ScalarType samples) {
  return plan.overlap == 0 ? samples : torch::kFloat32;
}

// plan_tiles, with automatic tiles made smaller where their band of output rows (`channels` of
// them, held as band_type) would pass `band_bytes`. A tile the caller chose, and the single window
// of a model with global context, stay.
TilePlan plan_in_bands(int64_t height, int64_t width, const ModelCard& card, int64_t channels,
                       const TileOptions& options, torch::ScalarType samples, int64_t band_bytes,
                       const torch::Device& device) {
  const auto plan = plan_tiles(height, width, card, options, device);
  if (options.tile > 0 || card.global_context) return plan;
  const double row_bytes = static_cast<double>(c10::elementSize(band_type(plan, samples)) *
                                               channels * width * card.scale);
  const auto most_rows = static_cast<int64_t>(static_cast<double>(band_bytes) / row_bytes);
  if (max_band_rows(plan, height, card.scale) <= most_rows) return plan;
  TileOptions smaller = options;
  smaller.tile = std::max<int64_t>(16, most_rows / card.scale - plan.overlap);
  smaller.pad = plan.pad;  // the context the budget allowed, not more
  return smaller.tile < plan.tile ? plan_tiles(height, width, card, smaller, device) : plan;
}

// Runs the input's colour (gray as R=G=B) through the model with tiling, a band of output rows at
// a time; halves the tile and starts over (the input from its top) when the device runs out of
// memory. Rows handed on before a retry are not handed on again: the retry's rows continue where
// they stopped. With `alpha_through_model` each window runs the model on the alpha too (repeated
// into three channels) and adds the mean of its three outputs as a fourth, so the alpha is made
// in the same bands. `readers`: of the input's rows, the windows and any others the sink has.
// With `bit_depth` 8 or 16, tiles that meet edge to edge are quantized to file samples as they
// come (the rows are then samples, else values). The band of rows is kept within `band_bytes`.
void run_with_retry(Model& model, InputRows& input, bool alpha_through_model, int readers,
                    const TileOptions& tiling, int bit_depth, int64_t band_bytes,
                    const RowSink& sink, const ProgressFn& progress, UpscaleReport& report) {
  const auto samples = bit_depth == 8 || bit_depth == 16 ? sample_type(bit_depth) : torch::kFloat32;
  const int64_t channels = model.card().out_channels + (alpha_through_model ? 1 : 0);
  const int64_t height = input.height(), width = input.width();
  // Views of the input's rows, not copies: the windows are copied out of them. Gray runs as RGB.
  const InputRowsFn colour = [&input](int64_t top, int64_t count) {
    const auto rows = input.rows(top, top + count);
    return rows.size(0) == 1 ? rows.expand({3, -1, -1}) : rows.slice(0, 0, 3);
  };
  const InputRowsFn alpha = [&input](int64_t top, int64_t count) {
    return input.rows(top, top + count).slice(0, 3, 4).expand({3, -1, -1});
  };
  int64_t sent = 0;  // output rows [0, sent) are handed on
  const RowSink once = [&](const torch::Tensor& rows, int64_t first) {
    const int64_t skip = std::clamp<int64_t>(sent - first, 0, rows.size(1));
    if (skip < rows.size(1)) sink(rows.slice(1, skip), first + skip);
    sent = std::max(sent, first + rows.size(1));
  };
  TileOptions options = tiling;
  for (;;) {
    const auto plan = plan_in_bands(height, width, model.card(), channels, options, samples,
                                    band_bytes, input.device());
    report.tile = plan.tile;
    report.tiles = plan.count();
    report.tile_pad = plan.pad;
    report.exact = plan.exact();
    const auto type = band_type(plan, samples);
    // The model's seconds: copying the windows in and running them, not reading a file's rows.
    const auto timed = [&report, &input](const WindowForward& forward) -> WindowForward {
      return [forward, &report, &input](int64_t top, int64_t left) {
        const auto start = SteadyClock::now();
        const double reading = input.seconds_reading();
        auto out = forward(top, left);
        report.model_seconds += seconds_since(start) - (input.seconds_reading() - reading);
        return out;
      };
    };
    WindowForward windows = timed(model_windows(model, colour, plan));
    if (alpha_through_model) {
      windows = [colour = windows, alpha = timed(model_windows(model, alpha, plan))](int64_t top,
                                                                                     int64_t left) {
        return torch::cat({colour(top, left), alpha(top, left).mean(0, /*keepdim=*/true)});
      };
    }
    if (type != torch::kFloat32) {
      windows = [windows, bit_depth](int64_t top, int64_t left) {
        return file_samples_in_place(windows(top, left), bit_depth);  // the model's own output
      };
    }
    try {
      input.begin(readers);  // from the top, again after a retry
      blend_windows_in_bands(plan, height, width, model.card().scale, channels,
                             torch::TensorOptions(input.device()).dtype(type), windows, once,
                             progress);
      return;
    } catch (const c10::Error& e) {
      if (!is_out_of_memory(e) || plan.tile <= 16) throw;
      options.tile = plan.tile / 2;
    }
  }
}

// Resizes a stream of row bands (top to bottom, every row once) into another: holds only the
// input rows that output rows still to come read.
class RowResizer {
 public:
  RowResizer(int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w, RowSink next)
      : resize_(in_h, in_w, out_h, out_w), out_h_(out_h), next_(std::move(next)) {
    reads_to_.resize(out_h);
    reads_from_.resize(out_h);
    for (int64_t i = 0; i < out_h; ++i) {
      const auto [first, end] = resize_.input_rows(i, i + 1);
      reads_to_[i] = i > 0 ? std::max(reads_to_[i - 1], end) : end;
      reads_from_[i] = first;
    }
    for (int64_t i = out_h - 2; i >= 0; --i) {
      reads_from_[i] = std::min(reads_from_[i], reads_from_[i + 1]);
    }
  }

  void push(const torch::Tensor& rows, int64_t first) {
    TORCH_CHECK(first == held_first_ + (held_.defined() ? held_.size(1) : 0),
                "row bands must arrive top to bottom");
    held_ = held_.defined() ? torch::cat({held_, rows}, 1) : rows.clone();
    const int64_t held_end = held_first_ + held_.size(1);
    // At most kChunk output rows per resize: its float64 intermediates stay small.
    constexpr int64_t kChunk = 256;
    while (done_ < out_h_ && reads_to_[done_] <= held_end) {
      int64_t end = done_;
      while (end < out_h_ && end - done_ < kChunk && reads_to_[end] <= held_end) ++end;
      next_(resize_.rows(held_, held_first_, done_, end), done_);
      done_ = end;
    }
    const int64_t keep_from = done_ < out_h_ ? reads_from_[done_] : held_end;
    if (keep_from > held_first_) {
      held_ = held_.slice(1, keep_from - held_first_).clone();
      held_first_ = keep_from;
    }
  }

 private:
  BicubicRows resize_;
  int64_t out_h_;
  RowSink next_;
  std::vector<int64_t> reads_to_;    // output rows [0, i] read input rows below this one
  std::vector<int64_t> reads_from_;  // output rows i and later read no input row above this one
  torch::Tensor held_;               // input rows [held_first_, held_first_ + held_.size(1))
  int64_t held_first_ = 0;
  int64_t done_ = 0;  // output rows handed on
};

}  // namespace

int64_t scaled_size(int64_t side, double scale) {
  return std::max<int64_t>(1, std::llround(static_cast<double>(side) * scale));
}

void upscale_in_bands(Model& model, const torch::Tensor& image, const UpscaleOptions& options,
                      const RowSink& sink, const ProgressFn& progress, UpscaleReport* report) {
  if (image.dim() != 3) {
    throw usage_error("upscale expects a [C,H,W] image with 1, 3 or 4 channels");
  }
  InputRows input(image);
  upscale_in_bands(model, input, options, sink, progress, report);
}

void upscale_in_bands(Model& model, InputRows& input, const UpscaleOptions& options,
                      const RowSink& sink, const ProgressFn& progress, UpscaleReport* report_out) {
  const auto start = SteadyClock::now();
  UpscaleReport report;
  const auto& card = model.card();
  const int64_t channels = input.channels();
  if (channels != 1 && channels != 3 && channels != 4) {
    throw usage_error("upscale expects a [C,H,W] image with 1, 3 or 4 channels");
  }
  if (card.in_channels != 3 || card.out_channels != 3) {
    throw usage_error("model " + card.name + " is not an RGB model");
  }
  report.native_scale = card.scale;
  report.scale = options.scale > 0 ? options.scale : static_cast<double>(card.scale);
  report.resized = report.scale != static_cast<double>(card.scale);
  // A constant alpha (an opaque image saved with an alpha channel) stays exactly constant.
  const auto constant_alpha =
      channels == 4 ? input.constant_channel(3) : std::optional<torch::Tensor>();
  const bool alpha_through_model =
      channels == 4 && !constant_alpha && options.alpha == AlphaMethod::kModel;
  report.passes = alpha_through_model ? 2 : 1;

  const int64_t height = input.height(), width = input.width();
  const int64_t native_h = height * card.scale, native_w = width * card.scale;

  // The budget, shared out: the input as held, what the caller holds; the pass gets the rest
  // unless the caller sized it. A file read by rows holds the windows of one tile-row and the rows
  // its bands' alpha reads: far less than the band of output rows they make (scale^2 as many
  // pixels); counted as a quarter of the band's share.
  const int64_t total =
      options.max_memory > 0 ? options.max_memory : default_memory_budget(input.device());
  int64_t input_bytes = input.peak_bytes();
  if (input.streamed()) {
    input_bytes = std::min(input.row_bytes() * height,
                           share_memory(total, card, 0, options.held_bytes).band / 4);
  }
  report.memory = share_memory(total, card, input_bytes, options.held_bytes);
  auto tiling = options.tiling;
  if (tiling.max_memory <= 0) tiling.max_memory = report.memory.pass;

  // Rows that reach the sink as the file's samples: quantized as the tiles come (run_with_retry)
  // where nothing after the model mixes values (the gray mean and a resize do), else at the end.
  const bool samples = options.bit_depth == 8 || options.bit_depth == 16;
  const int tile_bits = samples && !report.resized && channels != 1 ? options.bit_depth : 0;
  // The last step: clamp (or quantize) and hand on, on the CPU.
  const RowSink finish = [&](const torch::Tensor& rows, int64_t first) {
    if (!rows.is_floating_point()) {
      sink(rows.cpu(), first);
    } else if (samples) {
      sink(file_samples(rows, options.bit_depth).cpu(), first);
    } else {
      sink(rows.clamp_(0.0, 1.0).cpu(), first);
    }
  };
  std::optional<RowResizer> resizer;
  if (report.resized) {
    resizer.emplace(native_h, native_w, scaled_size(height, report.scale),
                    scaled_size(width, report.scale), finish);
  }

  // Alpha: through the model (with the colour, window by window: run_with_retry), constant, or
  // bicubic, made for each band of rows from the input rows it reads (a second reader of them).
  std::optional<BicubicRows> alpha_resize;
  if (channels == 4 && !constant_alpha && !alpha_through_model) {
    alpha_resize.emplace(height, width, native_h, native_w);
  }
  const auto alpha_rows = [&](int64_t first, int64_t count, const torch::TensorOptions& like) {
    if (constant_alpha) {
      return torch::full({1, count, native_w}, unit_float(*constant_alpha).item<float>(), like);
    }
    const auto [from, to] = alpha_resize->input_rows(first, first + count);
    return alpha_resize->rows(unit_float(input.rows(from, to, 1).slice(0, 3, 4)), from, first,
                              first + count);
  };

  const RowSink native = [&](const torch::Tensor& colour, int64_t first) {
    auto rows = channels == 1 ? colour.mean(0, /*keepdim=*/true) : colour;
    if (channels == 4 && !alpha_through_model) {
      auto alpha = alpha_rows(first, rows.size(1), rows.options().dtype(torch::kFloat32));
      if (!rows.is_floating_point()) alpha = file_samples(alpha, tile_bits);
      rows = torch::cat({rows, alpha});
    }
    if (resizer)
      resizer->push(rows, first);
    else
      finish(rows, first);
  };
  run_with_retry(model, input, alpha_through_model, alpha_resize ? 2 : 1, tiling, tile_bits,
                 report.memory.band, native, progress, report);
  report.input_streamed = input.streamed();
  report.input_bytes_held = input.peak_bytes();
  report.input_seconds = input.seconds_reading();
  report.seconds = seconds_since(start);
  if (report_out) *report_out = report;
}

torch::Tensor upscale(Model& model, const torch::Tensor& image, const UpscaleOptions& options,
                      const ProgressFn& progress, UpscaleReport* report) {
  torch::Tensor out;
  const double scale = options.scale > 0 ? options.scale : static_cast<double>(model.card().scale);
  auto values = options;
  values.bit_depth = 0;
  values.held_bytes += image.size(0) * scaled_size(image.size(1), scale) *
                       scaled_size(image.size(2), scale) * int64_t{4};  // the result, float32
  upscale_in_bands(
      model, image, values,
      [&](const torch::Tensor& rows, int64_t first) {
        if (!out.defined()) {
          out = torch::empty({rows.size(0), scaled_size(image.size(1), scale), rows.size(2)},
                             rows.options());
        }
        out.slice(1, first, first + rows.size(1)).copy_(rows);
      },
      progress, report);
  return out;
}

}  // namespace srkit
