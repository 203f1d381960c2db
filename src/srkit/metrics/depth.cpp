#include "srkit/metrics/depth.h"

#include <cmath>
#include <limits>

#include <torch/torch.h>

namespace srkit {

DepthError depth_rmse(const torch::Tensor& estimate, const torch::Tensor& reference, int64_t crop) {
  TORCH_CHECK(estimate.dim() == 2 && estimate.sizes() == reference.sizes(),
              "depth_rmse needs two [H,W] maps of the same size, got ", estimate.sizes(), " and ",
              reference.sizes());
  TORCH_CHECK(reference.size(0) > 2 * crop && reference.size(1) > 2 * crop,
              "the crop leaves nothing of a ", reference.sizes(), " map");
  const auto cut = [crop](const torch::Tensor& t) {
    return t.to(torch::kDouble).slice(0, crop, t.size(0) - crop).slice(1, crop, t.size(1) - crop);
  };
  const auto e = cut(estimate), r = cut(reference);
  const auto known = torch::isfinite(r);
  DepthError error;
  error.compared = known.sum().item<int64_t>();
  error.unknown = r.numel() - error.compared;
  if (error.compared == 0) {
    error.rmse = std::numeric_limits<double>::quiet_NaN();
    return error;
  }
  const auto difference = (e - r).masked_select(known);
  error.rmse = std::sqrt(difference.pow(2).mean().item<double>());
  return error;
}

}  // namespace srkit
