// MATLAB-compatible bicubic interpolation behind the Model interface: the baseline every SR table
// reports, usable wherever a model is (`srkit upscale --model bicubic`).
#pragma once

#include "srkit/models/model.h"

namespace srkit {

class BicubicModel : public Model {
 public:
  explicit BicubicModel(int64_t scale);
  const ModelCard& card() const override { return card_; }
  void prepare(const torch::Device&, bool) override {}
  torch::Tensor forward(const torch::Tensor& input) override;

 private:
  ModelCard card_;
};

}  // namespace srkit
