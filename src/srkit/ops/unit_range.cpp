#include "srkit/ops/unit_range.h"

#include <torch/torch.h>

namespace srkit {

UnitScaled scale_to_unit(const torch::Tensor& batch) {
  const auto flat = batch.reshape({batch.size(0), -1});
  const auto low = std::get<0>(flat.min(1)).view({-1, 1, 1, 1});
  auto span = std::get<0>(flat.max(1)).view({-1, 1, 1, 1}) - low;
  span = torch::where(span > 0, span, torch::ones_like(span));
  return {(batch - low) / span, low, span};
}

}  // namespace srkit
