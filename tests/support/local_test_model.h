// A small local model for the tiling tests, with a known receptive radius: two 3x3 convolutions
// (radius 2) with fixed random weights, optionally plus the input (outputs then reach outside
// [0,1]), then nearest-neighbour x2. Zero padding at the border, like the real models.
#pragma once

#include <cstdint>

#include <torch/torch.h>

#include "srkit/models/model.h"

namespace srkit::testing {

class LocalTestModel : public Model {
 public:
  explicit LocalTestModel(uint64_t seed = 7, double weight_scale = 0.3, bool residual = false)
      : residual_(residual) {
    torch::manual_seed(seed);
    w1_ = torch::randn({8, 3, 3, 3}) * weight_scale;
    w2_ = torch::randn({3, 8, 3, 3}) * weight_scale;
    card_.name = "local-test";
    card_.scale = 2;
    card_.receptive_radius = 2;
    card_.peak_bytes_per_input_pixel = 100;
  }
  const ModelCard& card() const override { return card_; }
  void prepare(const torch::Device&, bool) override {}
  torch::Tensor forward(const torch::Tensor& x) override {
    auto y = torch::conv2d(torch::relu(torch::conv2d(x, w1_, {}, 1, 1)), w2_, {}, 1, 1);
    if (residual_) y = y + x;
    return y.repeat_interleave(2, 2).repeat_interleave(2, 3);
  }

 private:
  ModelCard card_;
  torch::Tensor w1_, w2_;
  bool residual_;
};

}  // namespace srkit::testing
