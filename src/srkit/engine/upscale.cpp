#include "srkit/engine/upscale.h"

#include <cmath>

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/ops/resize.h"

namespace srkit {
namespace {

bool is_out_of_memory(const c10::Error& e) {
  const std::string what = e.what();
  return dynamic_cast<const c10::OutOfMemoryError*>(&e) != nullptr ||
         what.find("can't allocate memory") != std::string::npos ||
         what.find("out of memory") != std::string::npos;
}

// Runs a 3-channel [3,H,W] image through the model with tiling; halves the tile and starts over
// when the device runs out of memory.
torch::Tensor run_with_retry(Model& model, const torch::Tensor& rgb, const TileOptions& tiling,
                             const ProgressFn& progress, int64_t pass, int64_t passes,
                             UpscaleReport& report) {
  TileOptions options = tiling;
  for (;;) {
    const auto plan = plan_tiles(rgb.size(1), rgb.size(2), model.card(), options, rgb.device());
    report.tile = plan.tile;
    report.tiles = plan.count();
    report.tile_pad = plan.pad;
    report.exact = plan.exact();
    try {
      return run_tiled(model, rgb, plan, progress, pass * plan.count(), passes * plan.count());
    } catch (const c10::Error& e) {
      if (!is_out_of_memory(e) || plan.tile <= 16) throw;
      options.tile = plan.tile / 2;
    }
  }
}

}  // namespace

int64_t scaled_size(int64_t side, double scale) {
  return std::max<int64_t>(1, std::llround(static_cast<double>(side) * scale));
}

torch::Tensor upscale(Model& model, const torch::Tensor& image, const UpscaleOptions& options,
                      const ProgressFn& progress, UpscaleReport* report_out) {
  UpscaleReport report;
  const auto& card = model.card();
  const int64_t channels = image.dim() == 3 ? image.size(0) : 0;
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
  const bool constant_alpha = channels == 4 && (image[3].max() == image[3].min()).item<bool>();
  const bool alpha_through_model =
      channels == 4 && !constant_alpha && options.alpha == AlphaMethod::kModel;
  report.passes = alpha_through_model ? 2 : 1;

  const auto x = image.to(torch::kFloat32);
  const auto colour = channels == 1 ? x.expand({3, -1, -1}).contiguous() : x.slice(0, 0, 3);
  auto out = run_with_retry(model, colour, options.tiling, progress, 0, report.passes, report);
  if (channels == 1) out = out.mean(0, /*keepdim=*/true);
  if (channels == 4) {
    const auto alpha = x.slice(0, 3, 4);
    torch::Tensor alpha_up;
    if (constant_alpha) {
      alpha_up =
          torch::full({1, out.size(1), out.size(2)}, alpha[0][0][0].item<float>(), out.options());
    } else if (alpha_through_model) {
      alpha_up = run_with_retry(model, alpha.expand({3, -1, -1}).contiguous(), options.tiling,
                                progress, 1, report.passes, report)
                     .mean(0, /*keepdim=*/true);
    } else {
      alpha_up = resize_bicubic(alpha, alpha.size(1) * card.scale, alpha.size(2) * card.scale);
    }
    out = torch::cat({out, alpha_up}, 0);
  }
  if (report.resized) {
    out = resize_bicubic(out, scaled_size(image.size(1), report.scale),
                         scaled_size(image.size(2), report.scale));
  }
  if (report_out) *report_out = report;
  return out.clamp_(0.0, 1.0).cpu();
}

}  // namespace srkit
