#include "srkit/ops/classical_guided.h"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>
#include <opencv2/core.hpp>
#include <opencv2/ximgproc/edge_filter.hpp>

#include "srkit/core/error.h"
#include "srkit/ops/component_substitution.h"
#include "srkit/ops/resize.h"

namespace srkit {
namespace {

struct MethodName {
  GuidedMethod method;
  const char* name;
};
constexpr MethodName kNames[] = {
    {GuidedMethod::kBicubic, "bicubic"},
    {GuidedMethod::kJointBilateral, "joint-bilateral"},
    {GuidedMethod::kGuidedFilter, "guided-filter"},
    {GuidedMethod::kFastGlobalSmoother, "fast-global-smoother"},
    {GuidedMethod::kBrovey, "brovey"},
    {GuidedMethod::kGihs, "gihs"},
    {GuidedMethod::kGramSchmidt, "gram-schmidt"},
};

// [H, W] float32 tensor <-> CV_32F Mat (copies).
cv::Mat to_mat(const torch::Tensor& plane) {
  const auto c = plane.to(torch::kFloat).contiguous();
  return cv::Mat(static_cast<int>(c.size(0)), static_cast<int>(c.size(1)), CV_32F,
                 const_cast<float*>(c.data_ptr<float>()))
      .clone();
}

torch::Tensor to_tensor(const cv::Mat& mat) {
  cv::Mat floats;
  mat.convertTo(floats, CV_32F);
  return torch::from_blob(floats.data, {floats.rows, floats.cols}, torch::kFloat).clone();
}

// [0,1] by the tensor's own range (a constant tensor maps to 0).
torch::Tensor unit_range(const torch::Tensor& x, double& low, double& span) {
  low = x.min().item<double>();
  span = x.max().item<double>() - low;
  return span > 0 ? (x - low) / span : torch::zeros_like(x);
}

// The guide as a 1- or 3-channel CV_32F Mat in [0,1] (other band counts are averaged).
cv::Mat guide_mat(const torch::Tensor& guide) {
  double low, span;
  auto g = unit_range(guide.to(torch::kFloat), low, span);
  if (g.size(0) != 1 && g.size(0) != 3) g = g.mean(0, true);
  std::vector<cv::Mat> planes;
  for (int64_t b = 0; b < g.size(0); ++b) planes.push_back(to_mat(g[b]));
  cv::Mat merged;
  cv::merge(planes, merged);
  return merged;
}

torch::Tensor filter_bands(GuidedMethod method, const torch::Tensor& upsampled,
                           const torch::Tensor& guide, int64_t scale, const ClassicalSettings& s) {
  const cv::Mat joint = guide_mat(guide);
  cv::Mat joint8;
  joint.convertTo(joint8, CV_8U, 255.0);
  auto out = torch::empty_like(upsampled);
  for (int64_t b = 0; b < upsampled.size(0); ++b) {
    double low, span;
    const cv::Mat source = to_mat(unit_range(upsampled[b], low, span));
    cv::Mat result;
    switch (method) {
      case GuidedMethod::kJointBilateral:
        cv::ximgproc::jointBilateralFilter(joint, source, result, -1, s.range, s.spatial * scale);
        break;
      case GuidedMethod::kGuidedFilter:
        cv::ximgproc::guidedFilter(joint, source, result,
                                   std::max(1, static_cast<int>(std::lround(s.spatial * scale))),
                                   s.epsilon);
        break;
      case GuidedMethod::kFastGlobalSmoother:
        cv::ximgproc::fastGlobalSmootherFilter(
            joint8, source, result, s.lambda * static_cast<double>(scale * scale), s.sigma_color);
        break;
      default:
        throw usage_error("not a filter method");
    }
    out[b] = to_tensor(result).to(upsampled.scalar_type()) * span + low;
  }
  return out;
}

}  // namespace

torch::Tensor classical_guided_upscale(GuidedMethod method, const torch::Tensor& target_lr,
                                       const torch::Tensor& guide,
                                       const ClassicalSettings& settings) {
  if (target_lr.dim() != 3 || guide.dim() != 3) {
    throw usage_error("guided upscaling takes a target [C,h,w] and a guide [G,H,W]");
  }
  const int64_t h = target_lr.size(1), w = target_lr.size(2);
  const int64_t H = guide.size(1), W = guide.size(2);
  if (H % h != 0 || W % w != 0 || H / h != W / w || H / h < 1) {
    throw usage_error("the guide (" + std::to_string(W) + "x" + std::to_string(H) +
                      ") must be the target (" + std::to_string(w) + "x" + std::to_string(h) +
                      ") times one integer scale");
  }
  if (!torch::isfinite(target_lr).all().item<bool>()) {
    throw usage_error("the target has unknown (non-finite) pixels: fill them first");
  }
  const int64_t scale = H / h;
  const auto upsampled = resize_bicubic(target_lr.to(torch::kFloat), H, W);
  switch (method) {
    case GuidedMethod::kBicubic:
      return upsampled;
    case GuidedMethod::kBrovey:
    case GuidedMethod::kGihs:
    case GuidedMethod::kGramSchmidt: {
      if (guide.size(0) != 1) {
        throw usage_error(guided_method_name(method) + " needs a one-band pan guide, got " +
                          std::to_string(guide.size(0)) + " bands");
      }
      const auto pan = guide.to(torch::kFloat);
      if (method == GuidedMethod::kBrovey) return brovey_pansharpen(upsampled, pan);
      if (method == GuidedMethod::kGihs) return gihs_pansharpen(upsampled, pan);
      return gram_schmidt_pansharpen(upsampled, pan);
    }
    default:
      return filter_bands(method, upsampled, guide, scale, settings);
  }
}

GuidedMethod parse_guided_method(const std::string& name) {
  for (const auto& entry : kNames) {
    if (name == entry.name) return entry.method;
  }
  std::string choices;
  for (const auto& entry : kNames) choices += std::string(choices.empty() ? "" : ", ") + entry.name;
  throw usage_error("unknown guided method '" + name + "': choose " + choices);
}

std::string guided_method_name(GuidedMethod method) {
  for (const auto& entry : kNames) {
    if (entry.method == method) return entry.name;
  }
  return "?";
}

std::vector<GuidedMethod> all_guided_methods() {
  std::vector<GuidedMethod> methods;
  for (const auto& entry : kNames) methods.push_back(entry.method);
  return methods;
}

bool method_is_pansharpening_only(GuidedMethod method) {
  return method == GuidedMethod::kBrovey || method == GuidedMethod::kGihs ||
         method == GuidedMethod::kGramSchmidt;
}

}  // namespace srkit
