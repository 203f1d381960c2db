// Exponential moving average of a network's weights, kept in a second network of the same
// structure: after each step ema = d * ema + (1 - d) * weights with d = min(decay, (1 + n) /
// (10 + n)) at update n (TensorFlow's warm-up of the decay, so early averages are not dominated
// by the random initialisation). The averaged network is what training validates and exports.
//
//   Network average = make_network(network->config());           // the caller's second network
//   ExponentialMovingAverage ema(*network, *average, 0.999);
#pragma once

#include <cstdint>

#include <torch/nn/module.h>

namespace srkit {

class ExponentialMovingAverage {
 public:
  // `average` has `source`'s parameters in the same order (a second instance of its network),
  // outlives this object and becomes a copy of `source`, in eval mode, without gradients. Call
  // after the weights are initialised or loaded.
  ExponentialMovingAverage(torch::nn::Module& source, torch::nn::Module& average, double decay);
  void update(torch::nn::Module& source);
  int64_t updates() const { return updates_; }
  void set_updates(int64_t updates) { updates_ = updates; }

 private:
  torch::nn::Module& average_;
  double decay_;
  int64_t updates_ = 0;
};

}  // namespace srkit
