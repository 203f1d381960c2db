// Exponential moving average of a network's weights, kept in a second network of the same
// config: after each step ema = d * ema + (1 - d) * weights with d = min(decay, (1 + n) / (10 + n))
// at update n (TensorFlow's warm-up of the decay, so early averages are not dominated by the random
// initialisation). The averaged network is what training validates and exports.
#pragma once

#include "srkit/nn/network.h"

namespace srkit {

class ExponentialMovingAverage {
 public:
  // Starts as a copy of `source` (call after the weights are initialised or loaded).
  ExponentialMovingAverage(NetworkImpl& source, double decay);
  void update(NetworkImpl& source);
  Network& network() { return average_; }
  int64_t updates() const { return updates_; }
  void set_updates(int64_t updates) { updates_ = updates; }

 private:
  Network average_;
  double decay_;
  int64_t updates_ = 0;
};

}  // namespace srkit
