// Upscaling one image with a model: colour layouts (gray, RGB, RGBA), scales the model does not
// offer, tiling and the out-of-memory retry. Tensors in, tensors out; files are the caller's. The
// output comes whole (upscale) or a band of rows at a time (upscale_in_bands), for images whose
// output is too large to hold.
//
//   auto model = srkit::load_model({"esrgan-medium", 4});
//   model->prepare(torch::kCPU, srkit::prefer_channels_last(torch::kCPU));  // core/runtime.h
//   srkit::UpscaleOptions options;            // defaults: native scale, tiles from memory budget
//   srkit::UpscaleReport report;
//   torch::Tensor hr = srkit::upscale(*model, lr, options, {}, &report);  // [C,H,W] in [0,1]
#pragma once

#include <string>

#include <torch/types.h>

#include "srkit/core/progress.h"
#include "srkit/engine/memory_budget.h"
#include "srkit/engine/tile_blend.h"
#include "srkit/engine/tiling.h"
#include "srkit/models/model.h"

namespace srkit {

class InputRows;  // engine/input_rows.h

// How the alpha channel of an RGBA image is upscaled.
enum class AlphaMethod {
  kBicubic,  // MATLAB-compatible bicubic: smooth, cheap, exact on opaque regions and borders
  kModel,    // alpha, repeated into three channels, goes through the model with each tile (the
             // mean of its three outputs): sharper edges, but the model's border effects can
             // dim the alpha at the image edges
};

struct UpscaleOptions {
  double scale = 0;  // output size / input size; 0 = the model's native scale
  TileOptions tiling;
  AlphaMethod alpha = AlphaMethod::kBicubic;
  // The rows upscale_in_bands hands on: 0 = values in [0,1] (float32); 8 or 16 = the samples a
  // file of that depth stores (file_samples, io/image_io.h), the same the writer would make of
  // the values. Tiles that meet edge to edge are then quantized as they come, so the band of an
  // 8-bit output holds a byte a sample rather than four, and larger tiles fit its budget.
  int bit_depth = 0;
  // Bytes the whole upscale may hold, shared out by share_memory (memory_budget.h): the band of
  // rows gets its share and, unless tiling.max_memory is set, one forward pass the rest; 0 =
  // default_memory_budget (core/runtime.h).
  int64_t max_memory = 0;
  int64_t held_bytes = 0;  // held by the caller besides and counted against max_memory
};

struct UpscaleReport {
  int64_t native_scale = 0;
  double scale = 0;
  bool resized = false;          // the model's output was resized to reach `scale`
  int64_t tile = 0;              // tile side actually used (after any out-of-memory retries)
  int64_t tiles = 0;             // tiles per model pass
  int64_t tile_pad = 0;          // context around each tile, input pixels
  bool exact = true;             // false: the context was capped below the receptive radius
  int64_t passes = 0;            // model runs per tile: 1, or 2 when alpha went through the model
  MemoryShares memory;           // how max_memory was shared out
  bool input_streamed = false;   // the input was a file read a band of rows at a time
  int64_t input_bytes_held = 0;  // the most bytes of input rows held at once (the whole image
                                 // and its float copy when held)
  // Seconds in the model's windows (each copied in and run; on a CUDA device the launches only),
  // reading a file's rows (input_seconds: a streamed input), and in the whole upscale: the
  // windows, reading, blending, alpha, resizing and what the sink took.
  double model_seconds = 0, input_seconds = 0, seconds = 0;
};

// `image` is [C,H,W] float in [0,1] with C = 1 (gray), 3 (RGB) or 4 (RGBA), on the device the
// model was prepared for; or uint8 samples (value = sample / 255, scaled a window at a time
// exactly as read_image scales them: a quarter of the memory, the same result bit for bit). Returns
// [C, round(H*scale), round(W*scale)] in [0,1] on the CPU. Gray runs as RGB (R=G=B) and is written
// back as the channel mean. A scale the model does not offer is reached by resizing its output with
// MATLAB-compatible bicubic. Always values: UpscaleOptions::bit_depth is for upscale_in_bands. The
// result is counted against UpscaleOptions::max_memory.
torch::Tensor upscale(Model& model, const torch::Tensor& image, const UpscaleOptions& options,
                      const ProgressFn& progress = {}, UpscaleReport* report = nullptr);

// upscale()'s result a band of rows at a time: `sink` gets [C, n, W_out] in [0,1] on the CPU (or
// their samples, UpscaleOptions::bit_depth), top to bottom, every row once, and the whole output
// never exists (an alpha through the model is made with the colour, tile by tile).
// The rows equal upscale()'s bit for bit: upscale() is these bands stacked. After an out-of-memory
// retry with smaller tiles the rows already handed on are not sent again.
void upscale_in_bands(Model& model, const torch::Tensor& image, const UpscaleOptions& options,
                      const RowSink& sink, const ProgressFn& progress = {},
                      UpscaleReport* report = nullptr);

// The same, reading the input a band of rows at a time, from an image held whole or a file
// (engine/input_rows.h: io/row_reader.h streams PNG and TIFF), so that neither the output nor the
// input is ever whole in memory. Bit for bit the rows of the image read whole. An out-of-memory
// retry reads the file again from its top; an RGBA file is read through once first, to find a
// constant alpha.
void upscale_in_bands(Model& model, InputRows& input, const UpscaleOptions& options,
                      const RowSink& sink, const ProgressFn& progress = {},
                      UpscaleReport* report = nullptr);

// The output size srkit produces for an input side at a scale: round(side * scale).
int64_t scaled_size(int64_t side, double scale);

}  // namespace srkit
