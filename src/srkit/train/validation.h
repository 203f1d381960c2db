// Validation during training: held-out HR photos, centre-cropped and cut to a multiple of the
// scale, LR made by MATLAB bicubic and rounded to 8 bits (the protocol of docs/results.md); the
// network's output rounded to 8 bits is scored by PSNR-Y, SSIM-Y (border = scale) and LSD.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <vector>

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include "srkit/models/model.h"
#include "srkit/nn/network.h"

namespace srkit {

struct ValidationScores {
  double psnr_y = 0, ssim_y = 0, lsd = 0;  // means over the photos
  int64_t images = 0;
};

// {"psnr_y", "ssim_y", "lsd", "images"}: the log's validation record, to which steps add theirs.
nlohmann::json to_json(const ValidationScores& scores);

class ValidationSet {
 public:
  // Reads every image of `folder` (gray and RGBA as RGB); crop 0 keeps whole photos.
  ValidationSet(const std::filesystem::path& folder, int64_t scale, int64_t crop);
  ValidationScores evaluate(NetworkImpl& network) const;
  // Any upscaler of the set's scale: [3,h,w] in [0,1] -> [3,h*scale,w*scale].
  ValidationScores evaluate(const UpscaleFn& upscale) const;
  // An upscaler that also sees the photo it is scored against ([3,h,w] LR, [3,H,W] HR): a
  // teacher conditioned on the photo's own structure (train/flow_step.h).
  using ReferencedUpscaleFn =
      std::function<torch::Tensor(const torch::Tensor& lr, const torch::Tensor& hr)>;
  ValidationScores evaluate_with_reference(const ReferencedUpscaleFn& upscale) const;
  int64_t size() const { return static_cast<int64_t>(hr_.size()); }

 private:
  int64_t scale_;
  std::vector<torch::Tensor> lr_, hr_;  // [1,3,h,w] and [3,H,W] in [0,1]
};

}  // namespace srkit
