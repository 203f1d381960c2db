// M3ESR (seed 000, "Adaptive Context Matters"; docs/multimodal.md): a compact super-resolution
// backbone whose features X are modulated by one expert per modality (edges, segmentation, depth,
// text: maps on the output grid), fused with per-pixel weights
//
//   w_m(p) = softmax_m(z_m(p) / tau_m) over the modalities present,   Y = X + sum_m w_m(p) X_m(p)
//
// where a gating network sees X and every expert's features and gives the logits z. No public code
// exists: the backbone (SRVGG-style plain convs), the expert (encoder + FiLM of X), the gate (two
// 3x3 convs) and the widths are this project's choices (methods.md section 1 marks them guesses).
// The baselines of the seed's claim run in the same network (`fusion`): equal weights over the
// modalities present (static), learned global weights (scalar), one expert over all maps
// concatenated (concat), and the backbone alone (none).
//
//   auto net = srkit::M3esr(srkit::m3esr_config({{"modalities", {"edges", "segmentation"}}}));
//   auto out = net->forward(lr, {edges, seg}, present, temperatures);   // out.image, out.weights
#pragma once

#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>
#include <nlohmann/json.hpp>

namespace srkit {

// How the experts' outputs are weighted.
enum class Fusion {
  kDynamic,  // per-pixel softmax of the gate's logits over the present modalities (M3ESR)
  kStatic,   // 1 / (modalities present) everywhere
  kScalar,   // softmax of one learned logit per modality, the same at every pixel
  kConcat,   // one expert over all maps concatenated (a missing map is zeros); weight 1
  kNone,     // no modalities: the backbone alone
};
std::string fusion_name(Fusion fusion);

struct M3esrConfig {
  int64_t scale = 4;
  int64_t features = 32;         // the backbone's width
  int64_t convs_before = 4;      // backbone convs before the fusion
  int64_t convs_after = 4;       // and after it
  int64_t expert_features = 16;  // each expert encoder's width (and the gate's)
  Fusion fusion = Fusion::kDynamic;
  std::vector<std::string> modalities;  // the maps it takes, in order (modality_maps.h names)
  std::vector<int64_t> channels;        // each map's channels

  nlohmann::json to_json() const;
};

// Reads {"scale", "features", "convs_before", "convs_after", "expert_features", "fusion",
// "modalities", "text_dim"}; a map's channels follow from its modality (modality_channels). A usage
// Error naming the key for unknown keys, modalities or fusions and out-of-range values.
M3esrConfig m3esr_config(const nlohmann::json& json);

// The channels of a modality's map: edges 2 (Canny, gradient magnitude), segmentation 4
// (superpixel boundaries, the superpixel's mean colour), depth 1, text `text_dim` (a caption's
// embedding broadcast over the image). A usage Error for other names.
int64_t modality_channels(const std::string& modality, int64_t text_dim = 64);
const std::vector<std::string>& known_modalities();  // edges, segmentation, depth, text

// Per-pixel weights from the gate's logits [N,K,h,w]: softmax over k of z_k / tau_k among the
// modalities present (`present` [N,K], 1 or 0); a missing one gets weight 0, and a sample with
// none present gets 0 everywhere. `temperatures` [K] > 0.
torch::Tensor modality_weights(const torch::Tensor& logits, const torch::Tensor& present,
                               const torch::Tensor& temperatures);

struct M3esrOutput {
  torch::Tensor image;    // [N,3,H,W], not clamped
  torch::Tensor weights;  // [N,K,h,w] on the input grid (dynamic, static, scalar), else undefined
  torch::Tensor logits;   // [N,K,h,w] the gate's (dynamic), else undefined
};

class M3esrImpl : public torch::nn::Module {
 public:
  explicit M3esrImpl(const M3esrConfig& config);
  // lr [N,3,h,w] in [0,1]; maps: one per modality, [N,C_k,h*scale,w*scale] (a map absent for
  // every sample may be undefined); present [N,K] (1 = the sample has that map); temperatures [K]
  // (dynamic fusion; the others ignore them).
  M3esrOutput forward(const torch::Tensor& lr, const std::vector<torch::Tensor>& maps,
                      const torch::Tensor& present, const torch::Tensor& temperatures);

  const M3esrConfig& config() const { return config_; }
  // Input pixels an output pixel depends on (tiles are padded by it).
  double receptive_radius() const;
  double flops_per_input_pixel() const;
  double peak_bytes_per_input_pixel() const;
  int64_t parameter_count() const;

 private:
  // Expert k's features of its map at the input grid ([N,E,h,w]).
  torch::Tensor encode(size_t k, const torch::Tensor& map);

  M3esrConfig config_;
  torch::nn::Sequential head_{nullptr}, before_{nullptr}, after_{nullptr};
  torch::nn::Conv2d tail_{nullptr};
  torch::nn::ModuleList encoders_{nullptr};  // per expert: unshuffled map -> E features
  torch::nn::ModuleList films_{nullptr};     // per expert: E -> 2F (gamma, beta), zero at start
  torch::nn::Sequential gate_{nullptr};      // [X, F_1..F_K] -> K logits
  torch::Tensor scalar_logits_;              // [K] (scalar fusion)
};
TORCH_MODULE(M3esr);

}  // namespace srkit
