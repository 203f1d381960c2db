// Tiled inference: runs a model over an image of any size in bounded memory, so that the result
// equals the untiled one.
//
// Each tile keeps a region of the image and feeds the model a larger window around it, padded by at
// least the model's receptive radius, so the kept pixels see the same context as in one whole pass
// (at the image border the window stops where the image does, exactly as the model's own zero
// padding would). Exact tiles meet edge to edge; where the context is cut short (a smaller
// --tile-pad, or a receptive radius too large for the memory budget) neighbouring kept regions
// overlap and are blended with a raised-cosine window, which hides the seams. Every window has the
// same size, so one input buffer is reused and oneDNN reuses its kernels.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include <torch/types.h>

#include "srkit/core/progress.h"
#include "srkit/models/model.h"

namespace srkit {

struct TileOptions {
  int64_t tile = 0;        // most input pixels a tile keeps per side; 0 = what fits max_memory
  int64_t overlap = -1;    // input pixels shared by neighbouring tiles, blended; -1 = none
                           // when the tiles are exact, else 8
  int64_t pad = -1;        // context around a tile in input pixels; -1 = the receptive radius
  int64_t max_memory = 0;  // bytes one forward pass may use; 0 = default_memory_budget()
};

struct Span {
  int64_t keep_begin, keep_end;  // the pixels this tile contributes, [begin, end)
  int64_t window_begin;          // first pixel of the model's input window
};

struct TilePlan {
  int64_t tile = 0, overlap = 0, pad = 0;  // tile: the larger of the two axes' (tiles are even)
  int64_t exact_pad = 0;               // the context an exact result needs (the receptive radius)
  int64_t window_h = 0, window_w = 0;  // every model input has this size
  std::vector<Span> rows, cols;        // the tiles are their cartesian product
  int64_t count() const { return static_cast<int64_t>(rows.size() * cols.size()); }
  // Whether every kept pixel sees all the context it depends on: tiled equals whole.
  bool exact() const { return pad >= exact_pad || (rows.size() == 1 && cols.size() == 1); }
};

// Lays the tiles along one axis of `length` pixels.
std::vector<Span> plan_axis(int64_t length, int64_t tile, int64_t overlap, int64_t pad,
                            int64_t window);

// Plans the tiles for an image of height x width, with the tile size from the options or from the
// memory budget and the card's activation memory per pixel.
TilePlan plan_tiles(int64_t height, int64_t width, const ModelCard& card,
                    const TileOptions& options, const torch::Device& device);

// The model's output [C_out, window_h*scale, window_w*scale] for the input window whose top-left
// input pixel is (top, left); the window has the plan's size. The blend weighs it in place: a
// tensor of its own, not a view of something the caller keeps.
using WindowForward = std::function<torch::Tensor(int64_t top, int64_t left)>;

// Runs `forward` on every window of the plan over an input of height x width and blends the kept
// parts into [out_channels, H*scale, W*scale] (`options`: its dtype and device). Any model with
// one input grid can be tiled through this: run_tiled for single images, guided models with a
// target and a guide at two resolutions (guided_upscale.h). To receive the result a band of rows at
// a time instead, in bounded memory: blend_windows_in_bands (tile_blend.h).
torch::Tensor blend_windows(const TilePlan& plan, int64_t height, int64_t width, int64_t scale,
                            int64_t out_channels, const torch::TensorOptions& options,
                            const WindowForward& forward, const ProgressFn& progress = {},
                            int64_t progress_offset = 0, int64_t progress_total = 0);

// The model as a WindowForward over `image` ([C,H,W] on the model's device, float32 in [0,1] or
// uint8 samples, scaled as unit_float (io/samples.h) does) for this plan: every window is copied
// into one reused input buffer (same size, so oneDNN reuses its kernels).
WindowForward model_windows(Model& model, const torch::Tensor& image, const TilePlan& plan);

// Rows [top, top + count) of a model's input, [C, count, W] (as model_windows takes an image):
// for an input that is not held whole (engine/input_rows.h).
using InputRowsFn = std::function<torch::Tensor(int64_t top, int64_t count)>;
WindowForward model_windows(Model& model, const InputRowsFn& rows, const TilePlan& plan);

// Runs the model tile by tile. `image` is [C,H,W] on the model's device, C = the model's input
// channels; returns [C_out, H*scale, W*scale], not clamped. `progress` is called after each tile.
torch::Tensor run_tiled(Model& model, const torch::Tensor& image, const TilePlan& plan,
                        const ProgressFn& progress = {}, int64_t progress_offset = 0,
                        int64_t progress_total = 0);

}  // namespace srkit
