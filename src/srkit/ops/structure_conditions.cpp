#include "srkit/ops/structure_conditions.h"

#include <set>

#include <torch/torch.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "srkit/core/error.h"

namespace srkit {
namespace {

void check_images(const torch::Tensor& images, const char* what) {
  if (images.dim() != 4 || (images.size(1) != 1 && images.size(1) != 3)) {
    throw usage_error(std::string(what) + ": takes [N,1 or 3,H,W] images, got " +
                      std::to_string(images.dim()) + " dimensions");
  }
}

// Image k of [N,C,H,W] as an H x W Mat of C channels (float32 or 8-bit), a copy.
cv::Mat image_mat(const torch::Tensor& images, int64_t k, bool eight_bit) {
  auto hwc = images[k].detach().to(torch::kCPU, torch::kFloat).permute({1, 2, 0});
  if (eight_bit) hwc = (hwc.clamp(0, 1) * 255).round().to(torch::kUInt8);
  hwc = hwc.contiguous();
  const int type = eight_bit ? CV_MAKETYPE(CV_8U, static_cast<int>(hwc.size(2)))
                             : CV_MAKETYPE(CV_32F, static_cast<int>(hwc.size(2)));
  return cv::Mat(static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)), type, hwc.data_ptr())
      .clone();
}

// An H x W Mat of C float32 channels -> [C,H,W].
torch::Tensor mat_tensor(const cv::Mat& mat) {
  return torch::from_blob(mat.data, {mat.rows, mat.cols, mat.channels()}, torch::kFloat)
      .permute({2, 0, 1})
      .clone();
}

}  // namespace

torch::Tensor colour_map(const torch::Tensor& images, int64_t cells) {
  check_images(images, "colour map");
  if (cells < 1 || images.size(2) < cells || images.size(3) < cells) {
    throw usage_error("colour map: " + std::to_string(cells) + " cells across do not fit a " +
                      std::to_string(images.size(2)) + "x" + std::to_string(images.size(3)) +
                      " image (cells must be 1 or more and at most the image's sides)");
  }
  std::vector<torch::Tensor> maps;
  for (int64_t k = 0; k < images.size(0); ++k) {
    const auto image = image_mat(images, k, false);
    cv::Mat palette, map;
    cv::resize(image, palette, cv::Size(static_cast<int>(cells), static_cast<int>(cells)), 0, 0,
               cv::INTER_CUBIC);
    cv::resize(palette, map, image.size(), 0, 0, cv::INTER_NEAREST);
    maps.push_back(mat_tensor(map));
  }
  return torch::stack(maps).clamp(0, 1).to(images.device(), images.scalar_type());
}

torch::Tensor canny_edges(const torch::Tensor& images, double low, double high) {
  check_images(images, "canny edges");
  if (!(low >= 0) || !(high >= low)) {
    throw usage_error("canny edges: thresholds must satisfy 0 <= low <= high, got " +
                      std::to_string(low) + " and " + std::to_string(high));
  }
  std::vector<torch::Tensor> maps;
  for (int64_t k = 0; k < images.size(0); ++k) {
    cv::Mat edges, floats;
    cv::Canny(image_mat(images, k, true), edges, low, high);
    edges.convertTo(floats, CV_32F, 1.0 / 255);
    maps.push_back(mat_tensor(floats));
  }
  return torch::stack(maps).to(images.device(), images.scalar_type());
}

nlohmann::json to_json(const StructureConditioning& c) {
  return {{"kind", c.kind}, {"cells", c.cells}, {"canny", {c.canny_low, c.canny_high}}};
}

StructureConditioning structure_conditioning(const nlohmann::json& json) {
  static const std::set<std::string> kKeys{"kind", "cells", "canny"};
  if (!json.is_object()) throw usage_error("structure: the conditioning is not an object");
  for (const auto& [key, value] : json.items()) {
    if (!kKeys.count(key)) {
      throw usage_error("structure: unknown key '" + key + "' (kind, cells, canny)");
    }
  }
  StructureConditioning c;
  if (json.contains("kind")) {
    const auto& kind = json.at("kind");
    if (!kind.is_string() || (kind != "icm" && kind != "dense")) {
      throw usage_error("structure: 'kind' must be icm (colour map + edges) or dense (the image)");
    }
    c.kind = kind.get<std::string>();
  }
  if (json.contains("cells")) {
    const auto& cells = json.at("cells");
    if (!cells.is_number_integer() || cells.get<int64_t>() < 1 || cells.get<int64_t>() > 4096) {
      throw usage_error("structure: 'cells' must be an integer in 1..4096");
    }
    c.cells = cells.get<int64_t>();
  }
  if (json.contains("canny")) {
    const auto& canny = json.at("canny");
    if (!canny.is_array() || canny.size() != 2 || !canny[0].is_number() || !canny[1].is_number() ||
        canny[0].get<double>() < 0 || canny[1].get<double>() < canny[0].get<double>()) {
      throw usage_error("structure: 'canny' must be [low, high] with 0 <= low <= high");
    }
    c.canny_low = canny[0].get<double>();
    c.canny_high = canny[1].get<double>();
  }
  return c;
}

std::vector<int64_t> structure_channels(const StructureConditioning& conditioning) {
  if (conditioning.kind == "dense") return {3};
  return {3, 1};
}

std::vector<torch::Tensor> structure_conditions(const torch::Tensor& images,
                                                const StructureConditioning& conditioning) {
  torch::NoGradGuard no_grad;
  const auto clean = images.detach();
  if (conditioning.kind == "dense") return {clean.clamp(0, 1)};
  return {colour_map(clean, conditioning.cells),
          canny_edges(clean, conditioning.canny_low, conditioning.canny_high)};
}

}  // namespace srkit
