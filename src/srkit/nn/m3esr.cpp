#include "srkit/nn/m3esr.h"

#include <algorithm>
#include <numeric>
#include <set>

#include <torch/torch.h>

#include "srkit/core/error.h"

namespace srkit {
namespace {

torch::nn::Conv2d conv3(int64_t in, int64_t out) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1));
}

torch::nn::PReLU prelu(int64_t channels) {
  return torch::nn::PReLU(torch::nn::PReLUOptions().num_parameters(channels));
}

Fusion fusion_from_name(const std::string& name) {
  for (auto f :
       {Fusion::kDynamic, Fusion::kStatic, Fusion::kScalar, Fusion::kConcat, Fusion::kNone})
    if (fusion_name(f) == name) return f;
  throw usage_error("model.fusion " + name + ": use dynamic, static, scalar, concat or none");
}

// Each expert's map channels (concat: one expert over every map).
std::vector<int64_t> expert_inputs(const M3esrConfig& c) {
  if (c.fusion == Fusion::kNone) return {};
  if (c.fusion == Fusion::kConcat) {
    return {std::accumulate(c.channels.begin(), c.channels.end(), int64_t{0})};
  }
  return c.channels;
}

}  // namespace

std::string fusion_name(Fusion fusion) {
  switch (fusion) {
    case Fusion::kDynamic:
      return "dynamic";
    case Fusion::kStatic:
      return "static";
    case Fusion::kScalar:
      return "scalar";
    case Fusion::kConcat:
      return "concat";
    case Fusion::kNone:
      return "none";
  }
  return "dynamic";
}

const std::vector<std::string>& known_modalities() {
  static const std::vector<std::string> kNames{"edges", "segmentation", "depth", "text"};
  return kNames;
}

int64_t modality_channels(const std::string& modality, int64_t text_dim) {
  if (modality == "edges") return 2;
  if (modality == "segmentation") return 4;
  if (modality == "depth") return 1;
  if (modality == "text") return text_dim;
  throw usage_error("modality " + modality + ": use edges, segmentation, depth or text");
}

nlohmann::json M3esrConfig::to_json() const {
  nlohmann::json json = {{"architecture", "m3esr"},       {"scale", scale},
                         {"features", features},          {"convs_before", convs_before},
                         {"convs_after", convs_after},    {"expert_features", expert_features},
                         {"fusion", fusion_name(fusion)}, {"modalities", modalities}};
  const auto text = std::find(modalities.begin(), modalities.end(), "text");
  if (text != modalities.end()) json["text_dim"] = channels[text - modalities.begin()];
  return json;
}

M3esrConfig m3esr_config(const nlohmann::json& json) {
  static const std::set<std::string> kKeys{"architecture", "scale",       "features",
                                           "convs_before", "convs_after", "expert_features",
                                           "fusion",       "modalities",  "text_dim"};
  if (!json.is_object()) throw usage_error("model: must be a mapping of keys");
  for (const auto& [key, value] : json.items()) {
    if (!kKeys.count(key)) throw usage_error("model." + key + ": not a key of an m3esr model");
  }
  const auto integer = [&](const char* key, int64_t fallback, int64_t least, int64_t most) {
    if (!json.contains(key)) return fallback;
    const auto& v = json.at(key);
    if (!v.is_number_integer() || v.get<int64_t>() < least || v.get<int64_t>() > most) {
      throw usage_error(std::string("model.") + key + " must be an integer in " +
                        std::to_string(least) + ".." + std::to_string(most));
    }
    return v.get<int64_t>();
  };
  M3esrConfig c;
  c.scale = integer("scale", 4, 1, 8);
  c.features = integer("features", 32, 4, 512);
  c.convs_before = integer("convs_before", 4, 0, 64);
  c.convs_after = integer("convs_after", 4, 0, 64);
  c.expert_features = integer("expert_features", 16, 2, 512);
  const int64_t text_dim = integer("text_dim", 64, 1, 4096);
  if (json.contains("fusion")) {
    if (!json.at("fusion").is_string()) throw usage_error("model.fusion must be a name");
    c.fusion = fusion_from_name(json.at("fusion").get<std::string>());
  }
  if (json.contains("modalities")) {
    const auto& list = json.at("modalities");
    if (!list.is_array()) throw usage_error("model.modalities must be a list of names");
    for (const auto& m : list) {
      if (!m.is_string()) throw usage_error("model.modalities must be a list of names");
      const auto name = m.get<std::string>();
      if (std::find(c.modalities.begin(), c.modalities.end(), name) != c.modalities.end()) {
        throw usage_error("model.modalities lists " + name + " twice");
      }
      try {
        c.channels.push_back(modality_channels(name, text_dim));
      } catch (const Error&) {
        throw usage_error("model.modalities: " + name +
                          " is not a modality (use edges, segmentation, depth, text)");
      }
      c.modalities.push_back(name);
    }
  }
  if (c.fusion != Fusion::kNone && c.modalities.empty()) {
    throw usage_error(
        "model.modalities: a fusion of modalities needs at least one (edges, "
        "segmentation, depth, text), or set model.fusion: none");
  }
  if (c.fusion == Fusion::kNone && !c.modalities.empty()) {
    throw usage_error("model.fusion none is the backbone alone: leave out model.modalities");
  }
  return c;
}

torch::Tensor modality_weights(const torch::Tensor& logits, const torch::Tensor& present,
                               const torch::Tensor& temperatures) {
  const auto mask = present.to(logits.options()).view({present.size(0), present.size(1), 1, 1});
  const auto scaled = logits / temperatures.to(logits.options()).view({1, -1, 1, 1});
  // Missing modalities leave the softmax: their logits become -inf (a large finite number, so
  // that a sample with none present gives zeros rather than NaN).
  const auto masked = scaled.masked_fill(mask.expand_as(scaled) < 0.5, -1e30);
  return torch::softmax(masked, 1) * mask;
}

M3esrImpl::M3esrImpl(const M3esrConfig& config) : config_(config) {
  const int64_t f = config.features, e = config.expert_features, s = config.scale;
  head_ = register_module("head", torch::nn::Sequential(conv3(3, f), prelu(f)));
  before_ = register_module("before", torch::nn::Sequential());
  for (int64_t i = 0; i < config.convs_before; ++i) {
    before_->push_back(conv3(f, f));
    before_->push_back(prelu(f));
  }
  after_ = register_module("after", torch::nn::Sequential());
  for (int64_t i = 0; i < config.convs_after; ++i) {
    after_->push_back(conv3(f, f));
    after_->push_back(prelu(f));
  }
  tail_ = register_module("tail", conv3(f, 3 * s * s));
  encoders_ = register_module("encoders", torch::nn::ModuleList());
  films_ = register_module("films", torch::nn::ModuleList());
  const auto inputs = expert_inputs(config);
  for (const int64_t c : inputs) {
    // The map is unshuffled to the input grid (s x s pixels -> channels), then two 3x3 convs.
    encoders_->push_back(
        torch::nn::Sequential(conv3(c * s * s, e), prelu(e), conv3(e, e), prelu(e)));
    // FiLM of the backbone's features, zero at first: every expert starts as the identity.
    auto film = torch::nn::Conv2d(torch::nn::Conv2dOptions(e, 2 * f, 1));
    torch::NoGradGuard no_grad;
    film->weight.zero_();
    film->bias.zero_();
    films_->push_back(film);
  }
  if (config.fusion == Fusion::kDynamic) {
    const int64_t k = static_cast<int64_t>(inputs.size());
    gate_ =
        register_module("gate", torch::nn::Sequential(conv3(f + k * e, e), prelu(e), conv3(e, k)));
  }
  if (config.fusion == Fusion::kScalar) {
    scalar_logits_ =
        register_parameter("scalar_logits", torch::zeros({static_cast<int64_t>(inputs.size())}));
  }
}

torch::Tensor M3esrImpl::encode(size_t k, const torch::Tensor& map) {
  return encoders_[k]->as<torch::nn::Sequential>()->forward(
      torch::pixel_unshuffle(map, config_.scale));
}

M3esrOutput M3esrImpl::forward(const torch::Tensor& lr, const std::vector<torch::Tensor>& maps,
                               const torch::Tensor& present, const torch::Tensor& temperatures) {
  const int64_t s = config_.scale, n = lr.size(0), h = lr.size(2), w = lr.size(3);
  const auto k_count = static_cast<int64_t>(config_.modalities.size());
  if (static_cast<int64_t>(maps.size()) != k_count) {
    throw usage_error("m3esr: " + std::to_string(maps.size()) + " maps given, the model takes " +
                      std::to_string(k_count));
  }
  // A missing map is zeros (its expert's output is weighted 0 unless fusion is concat).
  std::vector<torch::Tensor> filled;
  for (int64_t k = 0; k < k_count; ++k) {
    filled.push_back(maps[k].defined()
                         ? maps[k] * present.select(1, k).to(lr.options()).view({n, 1, 1, 1})
                         : torch::zeros({n, config_.channels[k], h * s, w * s}, lr.options()));
  }
  auto x = before_->forward(head_->forward(lr));
  M3esrOutput out;
  if (config_.fusion != Fusion::kNone) {
    std::vector<torch::Tensor> features, experts;
    if (config_.fusion == Fusion::kConcat) {
      features.push_back(encode(0, torch::cat(filled, 1)));
    } else {
      for (int64_t k = 0; k < k_count; ++k) features.push_back(encode(k, filled[k]));
    }
    for (size_t k = 0; k < features.size(); ++k) {
      const auto film = films_[k]->as<torch::nn::Conv2d>()->forward(features[k]);
      const auto gamma = film.slice(1, 0, config_.features);
      const auto beta = film.slice(1, config_.features);
      experts.push_back(x * gamma + beta);  // X_m = X (1 + gamma) + beta, as a change of X
    }
    torch::Tensor weights;
    if (config_.fusion == Fusion::kDynamic) {
      std::vector<torch::Tensor> gate_input{x};
      gate_input.insert(gate_input.end(), features.begin(), features.end());
      out.logits = gate_->forward(torch::cat(gate_input, 1));
      weights = modality_weights(out.logits, present, temperatures);
    } else if (config_.fusion == Fusion::kStatic) {
      const auto p = present.to(lr.options());
      weights =
          (p / p.sum(1, true).clamp_min(1)).view({n, k_count, 1, 1}).expand({n, k_count, h, w});
    } else if (config_.fusion == Fusion::kScalar) {
      const auto logits = scalar_logits_.view({1, k_count, 1, 1}).expand({n, k_count, h, w});
      weights = modality_weights(logits, present, torch::ones({k_count}, lr.options()));
    }
    if (weights.defined()) {
      out.weights = weights;
      auto fused = x;
      for (int64_t k = 0; k < k_count; ++k) fused = fused + weights.slice(1, k, k + 1) * experts[k];
      x = fused;
    } else {
      x = x + experts[0];
    }
  }
  x = after_->forward(x);
  const auto base = lr.repeat_interleave(s, 2).repeat_interleave(s, 3);
  out.image = torch::pixel_shuffle(tail_->forward(x), s) + base;
  return out;
}

double M3esrImpl::receptive_radius() const {
  // Input-grid 3x3 convs on the longest path: head, before, expert encoder (2) then gate (2),
  // after, tail; an unshuffled map pixel lies within the input pixel it belongs to.
  const int64_t gate = config_.fusion == Fusion::kDynamic ? 2 : 0;
  const int64_t expert = config_.fusion == Fusion::kNone ? 0 : 2;
  return static_cast<double>(1 + config_.convs_before + expert + gate + config_.convs_after + 1);
}

double M3esrImpl::flops_per_input_pixel() const {
  double flops = 0;
  for (const auto& p : parameters()) {
    if (p.dim() == 4) flops += 2.0 * static_cast<double>(p.numel());
  }
  return flops;
}

double M3esrImpl::peak_bytes_per_input_pixel() const {
  const double f = static_cast<double>(config_.features);
  const double s2 = static_cast<double>(config_.scale * config_.scale);
  const double maps = static_cast<double>(
      std::accumulate(config_.channels.begin(), config_.channels.end(), int64_t{0}));
  const double k = static_cast<double>(config_.modalities.size());
  // The maps, the backbone's features and each expert's, the gate, the tail and its shuffle.
  return 4.0 * (maps * s2 + (2 + 2 * k) * f + k * static_cast<double>(config_.expert_features) +
                2 * 3 * s2);
}

int64_t M3esrImpl::parameter_count() const {
  int64_t count = 0;
  for (const auto& p : parameters()) count += p.numel();
  return count;
}

}  // namespace srkit
