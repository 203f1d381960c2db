#include "srkit/train/ema.h"

#include <algorithm>
#include <stdexcept>

#include <torch/torch.h>

namespace srkit {

ExponentialMovingAverage::ExponentialMovingAverage(torch::nn::Module& source,
                                                   torch::nn::Module& average, double decay)
    : average_(average), decay_(decay) {
  torch::NoGradGuard no_grad;
  const auto from = source.parameters();
  auto to = average_.parameters();
  if (from.size() != to.size()) {
    throw std::logic_error("moving average: the average is not a copy of the network");
  }
  for (size_t i = 0; i < to.size(); ++i) to[i].copy_(from[i]);
  average_.eval();
  for (auto& p : average_.parameters()) p.set_requires_grad(false);
}

void ExponentialMovingAverage::update(torch::nn::Module& source) {
  torch::NoGradGuard no_grad;
  const double d = std::min(decay_, (1.0 + updates_) / (10.0 + updates_));
  ++updates_;
  const auto from = source.parameters();
  auto to = average_.parameters();
  if (from.size() != to.size()) {
    throw std::logic_error("moving average: updated from another network than its own");
  }
  for (size_t i = 0; i < to.size(); ++i) to[i].mul_(d).add_(from[i], 1.0 - d);
}

}  // namespace srkit
