#include "srkit/train/validation.h"

#include <algorithm>

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/io/image_io.h"
#include "srkit/metrics/metric.h"
#include "srkit/ops/color.h"
#include "srkit/ops/resize.h"

namespace srkit {
namespace {

torch::Tensor to_8bit(const torch::Tensor& x) { return x.clamp(0, 1).mul(255).round().div(255); }

}  // namespace

ValidationSet::ValidationSet(const std::filesystem::path& folder, int64_t scale, int64_t crop)
    : scale_(scale) {
  for (const auto& path : list_image_files(folder)) {
    auto hr = as_rgb(read_image(path).pixels);
    int64_t h = hr.size(1), w = hr.size(2);
    if (crop > 0) {
      const int64_t ch = std::min(h, crop), cw = std::min(w, crop);
      hr = hr.slice(1, (h - ch) / 2, (h - ch) / 2 + ch).slice(2, (w - cw) / 2, (w - cw) / 2 + cw);
      h = ch;
      w = cw;
    }
    hr = hr.slice(1, 0, h - h % scale).slice(2, 0, w - w % scale).contiguous();
    if (hr.size(1) < 3 * scale || hr.size(2) < 3 * scale) continue;  // too small to score
    hr_.push_back(to_8bit(hr));
    lr_.push_back(
        to_8bit(resize_bicubic(hr_.back(), hr.size(1) / scale, hr.size(2) / scale)).unsqueeze(0));
  }
  if (hr_.empty()) {
    throw input_error(folder.string(), "no usable validation images",
                      "give validation.folder a folder of photos larger than 3x the scale");
  }
}

nlohmann::json to_json(const ValidationScores& scores) {
  return {{"psnr_y", scores.psnr_y},
          {"ssim_y", scores.ssim_y},
          {"lsd", scores.lsd},
          {"images", scores.images}};
}

ValidationScores ValidationSet::evaluate(NetworkImpl& network) const {
  torch::NoGradGuard no_grad;
  const bool was_training = network.is_training();
  network.eval();
  const double range = network.value_range();
  const auto scores = evaluate(
      [&](const torch::Tensor& lr) { return network.forward(lr.unsqueeze(0) * range)[0] / range; });
  network.train(was_training);
  return scores;
}

ValidationScores ValidationSet::evaluate(const UpscaleFn& upscale) const {
  return evaluate_with_reference(
      [&](const torch::Tensor& lr, const torch::Tensor&) { return upscale(lr); });
}

ValidationScores ValidationSet::evaluate_with_reference(const ReferencedUpscaleFn& upscale) const {
  torch::NoGradGuard no_grad;
  const MetricOptions protocol{.crop_border = scale_, .y_channel = true};
  ValidationScores scores;
  for (size_t i = 0; i < hr_.size(); ++i) {
    const auto sr = to_8bit(upscale(lr_[i][0], hr_[i]));
    scores.psnr_y += psnr(sr, hr_[i], protocol);
    scores.ssim_y += ssim(sr, hr_[i], protocol);
    scores.lsd += lsd(sr, hr_[i], protocol);
  }
  scores.images = static_cast<int64_t>(hr_.size());
  scores.psnr_y /= static_cast<double>(scores.images);
  scores.ssim_y /= static_cast<double>(scores.images);
  scores.lsd /= static_cast<double>(scores.images);
  return scores;
}

}  // namespace srkit
