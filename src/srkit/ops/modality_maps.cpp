#include "srkit/ops/modality_maps.h"

#include <string>

#include <torch/torch.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/ximgproc.hpp>

#include "srkit/core/error.h"
#include "srkit/ops/resize.h"
#include "srkit/ops/structure_conditions.h"

namespace srkit {
namespace {

void check_lr(const torch::Tensor& lr, int64_t scale, const char* what) {
  if (lr.dim() != 4 || lr.size(1) != 3) {
    throw usage_error(std::string(what) + ": takes [N,3,h,w] images");
  }
  if (scale < 1) throw usage_error(std::string(what) + ": the scale must be 1 or more");
}

// Image k of [N,3,h,w] in [0,1] as an 8-bit RGB Mat (a copy).
cv::Mat rgb8(const torch::Tensor& images, int64_t k) {
  auto hwc = (images[k].detach().to(torch::kCPU, torch::kFloat).clamp(0, 1) * 255)
                 .round()
                 .to(torch::kUInt8)
                 .permute({1, 2, 0})
                 .contiguous();
  return cv::Mat(static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)), CV_8UC3,
                 hwc.data_ptr())
      .clone();
}

}  // namespace

torch::Tensor edge_maps(const torch::Tensor& lr, int64_t scale) {
  check_lr(lr, scale, "edge maps");
  const auto up =
      resize_bicubic(lr.to(torch::kFloat), lr.size(2) * scale, lr.size(3) * scale).clamp(0, 1);
  const auto canny = canny_edges(up, 100, 200).to(torch::kFloat);
  // Sobel of the luma with replicated borders (3x3 kernels as OpenCV's).
  const auto luma = (0.299 * up.select(1, 0) + 0.587 * up.select(1, 1) + 0.114 * up.select(1, 2))
                        .unsqueeze(1);  // [N,1,H,W], BT.601 weights
  const auto padded = torch::nn::functional::pad(
      luma, torch::nn::functional::PadFuncOptions({1, 1, 1, 1}).mode(torch::kReplicate));
  const auto kx =
      torch::tensor({-1.f, 0.f, 1.f, -2.f, 0.f, 2.f, -1.f, 0.f, 1.f}).view({1, 1, 3, 3});
  const auto gx = torch::conv2d(padded, kx);
  const auto gy = torch::conv2d(padded, kx.transpose(2, 3));
  const auto magnitude = (torch::sqrt(gx * gx + gy * gy) / 4).clamp(0, 1);
  return torch::cat({canny, magnitude}, 1).to(lr.device(), lr.scalar_type());
}

torch::Tensor segmentation_maps(const torch::Tensor& lr, int64_t scale, int64_t region) {
  check_lr(lr, scale, "segmentation maps");
  if (region < 2) throw usage_error("segmentation maps: the region must be 2 pixels or more");
  std::vector<torch::Tensor> maps;
  for (int64_t k = 0; k < lr.size(0); ++k) {
    const auto rgb = rgb8(lr, k);
    cv::Mat lab;
    cv::cvtColor(rgb, lab, cv::COLOR_RGB2Lab);
    auto slic = cv::ximgproc::createSuperpixelSLIC(lab, cv::ximgproc::SLICO,
                                                   static_cast<int>(region), 10.0f);
    slic->iterate(10);
    slic->enforceLabelConnectivity(25);
    cv::Mat labels;
    slic->getLabels(labels);
    const auto ids = torch::from_blob(labels.data, {labels.rows, labels.cols}, torch::kInt32)
                         .to(torch::kLong)
                         .clone();
    const int64_t count = ids.max().item<int64_t>() + 1;
    // Each superpixel's mean colour.
    const auto colours = lr[k].detach().to(torch::kCPU, torch::kFloat).reshape({3, -1});
    const auto flat = ids.reshape({-1});
    auto sums = torch::zeros({3, count}).index_add_(1, flat, colours);
    const auto sizes = torch::zeros({count}).index_add_(0, flat, torch::ones({flat.size(0)}));
    const auto means =
        (sums / sizes.clamp_min(1)).index_select(1, flat).view({3, labels.rows, labels.cols});
    // On the output grid: labels and colours by nearest neighbour, then the boundaries.
    const auto up_ids = ids.repeat_interleave(scale, 0).repeat_interleave(scale, 1);
    auto boundary = torch::zeros(up_ids.sizes(), torch::kFloat);
    boundary.slice(1, 0, -1) += (up_ids.slice(1, 0, -1) != up_ids.slice(1, 1)).to(torch::kFloat);
    boundary.slice(0, 0, -1) += (up_ids.slice(0, 0, -1) != up_ids.slice(0, 1)).to(torch::kFloat);
    const auto up_means = means.repeat_interleave(scale, 1).repeat_interleave(scale, 2);
    maps.push_back(torch::cat({boundary.clamp(0, 1).unsqueeze(0), up_means}, 0));
  }
  return torch::stack(maps).to(lr.device(), lr.scalar_type());
}

torch::Tensor normalised_map(const torch::Tensor& map, int64_t height, int64_t width) {
  if (map.dim() != 3) throw usage_error("modality map: takes a [C,H,W] image");
  auto m = map.to(torch::kFloat);
  if (m.size(1) != height || m.size(2) != width) m = resize_bicubic(m, height, width);
  const auto low = m.amin({1, 2}, true), high = m.amax({1, 2}, true);
  if (low.min().item<float>() >= 0 && high.max().item<float>() <= 1) return m;  // in range
  const auto range = high - low;
  return torch::where(range > 0, (m - low) / range.clamp_min(1e-12), torch::zeros_like(m));
}

}  // namespace srkit
