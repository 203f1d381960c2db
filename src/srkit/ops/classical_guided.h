// The classical guided upscalers users know, from libraries where they exist: bicubic; joint
// bilateral filtering, the guided filter and the fast global smoother (OpenCV ximgproc) applied
// to the bicubic-upsampled target with the high-resolution guide; and for pansharpening Brovey,
// GIHS and Gram-Schmidt (component_substitution.h).
//
//   auto depth = srkit::classical_guided_upscale(srkit::GuidedMethod::kGuidedFilter, lr, rgb);
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

namespace srkit {

enum class GuidedMethod {
  kBicubic,
  kJointBilateral,
  kGuidedFilter,
  kFastGlobalSmoother,
  kBrovey,
  kGihs,
  kGramSchmidt,
};

// Filter settings in units that do not depend on the data: the target is scaled to [0,1] by its
// own low-resolution range and the guide to [0,1] by its range before filtering (and the result
// scaled back), spatial sizes are in multiples of the scale. The defaults come from a small grid
// on the depth training split at x8 (bench/guided_filter_grid.sh, docs/guided.md).
struct ClassicalSettings {
  double spatial = 0.25;     // joint bilateral sigma_space and guided-filter radius, x scale
  double range = 0.1;        // joint bilateral sigma_color (guide in [0,1])
  double epsilon = 1e-2;     // guided filter regularisation (guide in [0,1])
  double lambda = 0.01;      // fast global smoother lambda, x scale^2
  double sigma_color = 2.0;  // fast global smoother sigma_color (8-bit guide levels)
};

// target_lr [C, h, w] (finite), guide [G, H, W] with H, W multiples of h, w by the same integer
// scale; returns [C, H, W] in the target's units. Brovey/GIHS/Gram-Schmidt need a 1-band guide
// (the pan); the filters take 1- or 3-band guides (others are averaged to one band).
torch::Tensor classical_guided_upscale(GuidedMethod method, const torch::Tensor& target_lr,
                                       const torch::Tensor& guide,
                                       const ClassicalSettings& settings = {});

GuidedMethod parse_guided_method(const std::string& name);
std::string guided_method_name(GuidedMethod method);
std::vector<GuidedMethod> all_guided_methods();
// Whether the method applies to a task's data: the component-substitution methods need a pan.
bool method_is_pansharpening_only(GuidedMethod method);

}  // namespace srkit
