// Residual dense networks as idealo's ISR builds them (the UpscalerJS weights):
//
// RDN (Zhang et al. 2018): F_m1, F_0 (3x3) -> D residual dense blocks (C densely concatenated
// 3x3 conv+ReLU of G channels, 1x1 local fusion LFF to G0, local residual) -> global fusion of all
// block outputs (GFF_1 1x1, GFF_2 3x3) + F_m1 -> UPN1 5x5 relu, UPN2 3x3 relu, UPN3 3x3 to
// 3*scale^2 -> nearest upsampling x scale -> SR 3x3 to RGB. Runs on 0..255.
//
// RRDN (ESRGAN, Wang et al. 2018): Pre_blocks_conv -> T residual-in-residual blocks of D dense
// blocks (C 3x3 conv+ReLU of G channels, 3x3 LFF, each scaled by beta) -> post_blocks_conv +
// Pre_blocks_conv -> PreShuffle 3x3 to 3*scale^2 -> depth_to_space (TF order) -> SR 3x3. Runs on
// 0..1.
//
// Layers carry the Keras names, so imported weights load by name. The upsample-then-conv tail of
// RDN runs in its fused low-resolution form (nn/layers.h), for training too.
#pragma once

#include <vector>

#include <torch/nn/modules/conv.h>

#include "srkit/nn/network.h"

namespace srkit {

struct RdnConfig {
  int64_t scale = 4;
  int64_t blocks = 10;         // D
  int64_t convs = 1;           // C, per dense block
  int64_t growth = 64;         // G
  int64_t features = 64;       // G0
  double value_range = 255.0;  // UpscalerJS trained RDN on 0..255
};

// The parameters a network of this config holds, counted without building it.
double parameter_count(const RdnConfig& config);

class RdnImpl : public NetworkImpl {
 public:
  explicit RdnImpl(const RdnConfig& config);
  torch::Tensor forward(const torch::Tensor& input) override;
  nlohmann::json config() const override;
  int64_t scale() const override { return config_.scale; }
  double value_range() const override { return config_.value_range; }
  double receptive_radius() const override;
  double flops_per_input_pixel() const override;
  double peak_bytes_per_input_pixel() const override;
  void load_keras_weights(const std::map<std::string, torch::Tensor>& weights,
                          const std::string& source) override;

 private:
  torch::nn::Conv2d add_conv(const std::string& name, int64_t in, int64_t out, int64_t kernel);
  RdnConfig config_;
  std::vector<std::pair<std::string, torch::nn::Conv2d>> convs_;  // Keras name, layer
  torch::nn::Conv2d f_m1_{nullptr}, f_0_{nullptr}, gff_1_{nullptr}, gff_2_{nullptr};
  std::vector<std::vector<torch::nn::Conv2d>> dense_;  // [block][conv]
  std::vector<torch::nn::Conv2d> fusion_;              // LFF per block
  torch::nn::Conv2d upn_1_{nullptr}, upn_2_{nullptr}, upn_3_{nullptr}, sr_{nullptr};
};

struct RrdnConfig {
  int64_t scale = 4;
  int64_t rrdbs = 10;     // T
  int64_t blocks = 3;     // D, dense blocks per RRDB
  int64_t convs = 4;      // C
  int64_t growth = 32;    // G
  int64_t features = 64;  // G0
  double beta = 0.2;      // residual scaling
  double value_range = 1.0;
};

double parameter_count(const RrdnConfig& config);

class RrdnImpl : public NetworkImpl {
 public:
  explicit RrdnImpl(const RrdnConfig& config);
  torch::Tensor forward(const torch::Tensor& input) override;
  nlohmann::json config() const override;
  int64_t scale() const override { return config_.scale; }
  double value_range() const override { return config_.value_range; }
  double receptive_radius() const override;
  double flops_per_input_pixel() const override;
  double peak_bytes_per_input_pixel() const override;
  void load_keras_weights(const std::map<std::string, torch::Tensor>& weights,
                          const std::string& source) override;

 private:
  torch::nn::Conv2d add_conv(const std::string& name, int64_t in, int64_t out);
  RrdnConfig config_;
  std::vector<std::pair<std::string, torch::nn::Conv2d>> convs_;
  torch::nn::Conv2d pre_{nullptr}, post_{nullptr}, pre_shuffle_{nullptr}, sr_{nullptr};
  std::vector<std::vector<std::vector<torch::nn::Conv2d>>> dense_;  // [rrdb][block][conv]
  std::vector<std::vector<torch::nn::Conv2d>> fusion_;              // [rrdb][block]
};

}  // namespace srkit
