#include "srkit/nn/lora.h"

#include <ATen/CPUGeneratorImpl.h>
#include <cmath>
#include <regex>
#include <set>

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/torch.h>

#include "srkit/core/error.h"

namespace srkit {

namespace {

// The weight member a layer's forward reads: Conv2d's or Linear's, null for any other module.
torch::Tensor* weight_member(torch::nn::Module& module) {
  if (auto* conv = dynamic_cast<torch::nn::Conv2dImpl*>(&module)) return &conv->weight;
  if (auto* linear = dynamic_cast<torch::nn::LinearImpl*>(&module)) return &linear->weight;
  return nullptr;
}

// The parameter registered as "weight": the base the adapters add to.
torch::Tensor registered_weight(torch::nn::Module& module) {
  return module.named_parameters(/*recurse=*/false)["weight"];
}

}  // namespace

nlohmann::json to_json(const LoraOptions& options) {
  return {{"rank", options.rank}, {"alpha", options.alpha}, {"targets", options.targets}};
}

LoraOptions lora_options(const nlohmann::json& json) {
  static const std::set<std::string> kKeys{"rank", "alpha", "targets"};
  if (!json.is_object()) throw usage_error("lora: the settings are not an object");
  for (const auto& [key, value] : json.items()) {
    if (!kKeys.count(key)) throw usage_error("lora: unknown key '" + key + "'");
  }
  LoraOptions options;
  if (json.contains("rank")) {
    const auto& v = json.at("rank");
    if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > 4096) {
      throw usage_error("lora: 'rank' must be an integer in 1..4096");
    }
    options.rank = v.get<int64_t>();
  }
  options.alpha = static_cast<double>(options.rank);
  if (json.contains("alpha")) {
    const auto& v = json.at("alpha");
    if (!v.is_number() || !(v.get<double>() > 0) || v.get<double>() > 1e6) {
      throw usage_error("lora: 'alpha' must be a number in (0, 1e6]");
    }
    options.alpha = v.get<double>();
  }
  const auto& targets = json.contains("targets") ? json.at("targets") : nlohmann::json();
  if (!targets.is_array() || targets.empty()) {
    throw usage_error("lora: 'targets' must be a list of layer-name patterns");
  }
  for (const auto& t : targets) {
    if (!t.is_string()) throw usage_error("lora: each of 'targets' must be a string");
    options.targets.push_back(t.get<std::string>());
  }
  return options;
}

LoraImpl::LoraImpl(torch::nn::Module& network, const LoraOptions& options, uint64_t seed)
    : options_(options) {
  if (options.rank < 1) throw usage_error("lora: 'rank' must be positive");
  if (options.targets.empty()) throw usage_error("lora: no 'targets' (layer-name patterns)");
  std::vector<std::regex> patterns;
  for (const auto& target : options.targets) {
    try {
      patterns.emplace_back(target, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      throw usage_error("lora: target '" + target + "' is not a regular expression (" + e.what() +
                        ")");
    }
  }
  std::vector<bool> used(patterns.size(), false);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (const auto& item : network.named_modules("", /*include_self=*/false)) {
    if (!weight_member(*item.value())) continue;
    bool chosen = false;
    for (size_t p = 0; p < patterns.size(); ++p) {
      if (std::regex_match(item.key(), patterns[p])) chosen = used[p] = true;
    }
    if (!chosen) continue;
    const auto weight = registered_weight(*item.value());
    const int64_t out = weight.size(0);
    const int64_t fan_in = weight.numel() / out;
    // Kaiming-uniform with a = sqrt(5) (LibTorch's and peft's default): bound 1 / sqrt(fan_in).
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    auto down = (torch::rand({options.rank, fan_in}, generator) * 2 - 1) * bound;
    auto up = torch::zeros({out, options.rank});
    auto factors = std::make_shared<torch::nn::Module>();
    factors->register_parameter("down", down.to(weight.options()));
    factors->register_parameter("up", up.to(weight.options()));
    factors_->push_back(factors);
    layers_.push_back(item.key());
    shapes_.push_back(weight.sizes().vec());
  }
  for (size_t p = 0; p < patterns.size(); ++p) {
    if (!used[p]) {
      throw usage_error("lora: target '" + options.targets[p] +
                        "' matches no convolution or linear layer of the network");
    }
  }
  register_module("layers", factors_);
}

torch::Tensor LoraImpl::delta(size_t k) const {
  const auto params = factors_->ptr(k)->named_parameters(/*recurse=*/false);
  return (params["up"].mm(params["down"]) * (options_.alpha / static_cast<double>(options_.rank)))
      .view(shapes_[k]);
}

struct LoraStack::Layer {
  std::string path;
  std::shared_ptr<torch::nn::Module> module;  // keeps `bound` alive
  torch::Tensor* bound = nullptr;             // what the layer's forward reads
  torch::Tensor base;                         // the registered parameter
};

LoraStack::LoraStack(torch::nn::Module& network) : network_(network) {}

LoraStack::~LoraStack() { release(); }

void LoraStack::add(const std::string& name, Lora adapter, double scale) {
  for (const auto& e : entries_) {
    if (e.name == name)
      throw usage_error("lora: the stack already holds an adapter '" + name + "'");
  }
  Entry entry;
  entry.name = name;
  entry.scale = scale;
  const auto modules = network_.named_modules("", /*include_self=*/false);
  for (size_t k = 0; k < adapter->layers().size(); ++k) {
    const auto& path = adapter->layers()[k];
    size_t index = 0;
    while (index < layers_.size() && layers_[index]->path != path) ++index;
    if (index == layers_.size()) {
      const auto* module = modules.find(path);
      torch::Tensor* bound = module ? weight_member(**module) : nullptr;
      if (!bound) {
        throw usage_error("lora: adapter '" + name + "' adapts layer '" + path +
                          "', which the network has no convolution or linear layer of");
      }
      auto layer = std::make_unique<Layer>();
      layer->path = path;
      layer->module = *module;
      layer->bound = bound;
      layer->base = registered_weight(**module);
      layers_.push_back(std::move(layer));
    }
    if (layers_[index]->base.sizes() != c10::IntArrayRef(adapter->shapes()[k])) {
      throw usage_error("lora: adapter '" + name + "' was made for another shape of layer '" +
                        path + "'");
    }
    entry.layer_of.push_back(index);
  }
  entry.adapter = std::move(adapter);
  entries_.push_back(std::move(entry));
}

LoraStack::Entry& LoraStack::entry(const std::string& name) {
  for (auto& e : entries_) {
    if (e.name == name) return e;
  }
  throw usage_error("lora: the stack holds no adapter '" + name + "'");
}

const LoraStack::Entry& LoraStack::entry(const std::string& name) const {
  return const_cast<LoraStack*>(this)->entry(name);
}

Lora LoraStack::adapter(const std::string& name) const { return entry(name).adapter; }

void LoraStack::set_scale(const std::string& name, double scale) {
  auto& e = entry(name);
  if (e.merged) {
    throw usage_error("lora: adapter '" + name + "' is merged; unmerge it to change its scale");
  }
  e.scale = scale;
}

void LoraStack::set_enabled(const std::string& name, bool enabled) {
  auto& e = entry(name);
  if (e.merged) {
    throw usage_error("lora: adapter '" + name + "' is merged; unmerge it to disable it");
  }
  e.enabled = enabled;
}

void LoraStack::add_product(const Entry& e, double sign) {
  torch::NoGradGuard no_grad;
  for (size_t k = 0; k < e.layer_of.size(); ++k) {
    layers_[e.layer_of[k]]->base.add_(e.adapter->delta(k), sign * e.scale);
  }
}

void LoraStack::merge(const std::string& name) {
  auto& e = entry(name);
  if (e.merged) return;
  if (!e.enabled) throw usage_error("lora: adapter '" + name + "' is disabled; enable it to merge");
  add_product(e, 1.0);
  e.merged = true;
  apply();
}

void LoraStack::unmerge(const std::string& name) {
  auto& e = entry(name);
  if (!e.merged) return;
  add_product(e, -1.0);
  e.merged = false;
  apply();
}

void LoraStack::apply() {
  std::vector<torch::Tensor> weights;
  for (const auto& layer : layers_) weights.push_back(layer->base);
  for (const auto& e : entries_) {
    if (!e.enabled || e.merged) continue;
    for (size_t k = 0; k < e.layer_of.size(); ++k) {
      auto& w = weights[e.layer_of[k]];
      w = w + e.scale * e.adapter->delta(k);
    }
  }
  for (size_t i = 0; i < layers_.size(); ++i) {
    const auto& base = layers_[i]->base;
    *layers_[i]->bound =
        weights[i].is_same(base) ? base : weights[i].contiguous(base.suggest_memory_format());
  }
}

void LoraStack::release() {
  for (const auto& layer : layers_) *layer->bound = layer->base;
}

nlohmann::json LoraStack::describe() const {
  auto list = nlohmann::json::array();
  for (const auto& e : entries_) {
    list.push_back({{"name", e.name},
                    {"rank", e.adapter->options().rank},
                    {"alpha", e.adapter->options().alpha},
                    {"scale", e.scale},
                    {"enabled", e.enabled},
                    {"merged", e.merged},
                    {"layers", e.adapter->layers().size()}});
  }
  return list;
}

}  // namespace srkit
