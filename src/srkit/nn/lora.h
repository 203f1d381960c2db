// Low-rank adapters (LoRA) on the convolution and linear layers of any network, chosen by name:
// an adapter adds scale * (alpha / rank) * up @ down to each chosen layer's weight, with `up`
// zero-initialised, so a new adapter leaves the network as it was. Adapters stack (base + SFT +
// DPO: seed 001's dual-LoRA reference is the same stack with the DPO adapter disabled), scale,
// enable and disable at inference, and merge into the base weights and back out.
//
// The network's own forward code is untouched: the stack rebinds each adapted layer's `weight` to
// base + the enabled adapters' products whenever apply() is called (in grad mode a graph to the
// adapters' factors, so a training step calls apply() before its forward). The registered
// parameter stays the base weight, so the network's saved weights are the base's; the adapters
// are saved apart (their own module's parameters: layers.<k>.down / .up).
//
//   srkit::LoraOptions options;  options.rank = 4;  options.targets = {".*conv[12]"};
//   srkit::LoraStack stack(*network);
//   stack.add("dpo", srkit::Lora(*network, options, /*seed=*/7));
//   stack.apply();                   // network now runs base + dpo
//   stack.set_enabled("dpo", false);  stack.apply();   // the reference
//   stack.merge("dpo");              // base weights += dpo's product; stack.unmerge undoes it
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>
#include <nlohmann/json.hpp>

namespace srkit {

struct LoraOptions {
  int64_t rank = 4;
  double alpha = 4;  // the product is scaled by alpha / rank (the convention of peft and seed 001)
  // Regular expressions (ECMAScript), each matched against a layer's whole path in the network
  // ("down_blocks.0.conv1"); a layer is adapted when any matches. Only Conv2d and Linear layers
  // are adapted.
  std::vector<std::string> targets;
};

nlohmann::json to_json(const LoraOptions& options);
// A usage Error naming the key for unknown keys or bad values.
LoraOptions lora_options(const nlohmann::json& json);

// One adapter: a down [rank, fan_in] and an up [out, rank] factor per adapted layer, in the order
// of the network's layers.
class LoraImpl : public torch::nn::Module {
 public:
  // A new adapter on the layers of `network` that the options' targets match: down drawn from
  // Kaiming-uniform with a generator seeded by `seed`, up zero. A usage Error naming the target
  // that matches no Conv2d or Linear layer, or for a rank that is not positive.
  LoraImpl(torch::nn::Module& network, const LoraOptions& options, uint64_t seed);

  const LoraOptions& options() const { return options_; }
  // The adapted layers' paths, in order (layer k's factors are layers.<k>.down/.up).
  const std::vector<std::string>& layers() const { return layers_; }
  // Their weights' shapes.
  const std::vector<std::vector<int64_t>>& shapes() const { return shapes_; }
  // Layer k's change of weight at scale 1: (alpha / rank) * up @ down, in the weight's shape.
  torch::Tensor delta(size_t k) const;

 private:
  LoraOptions options_;
  std::vector<std::string> layers_;
  std::vector<std::vector<int64_t>> shapes_;  // the adapted weights' shapes
  torch::nn::ModuleList factors_;
};
TORCH_MODULE(Lora);

// The adapters of one network, in the order they were added.
class LoraStack {
 public:
  explicit LoraStack(torch::nn::Module& network);
  ~LoraStack();
  LoraStack(const LoraStack&) = delete;
  LoraStack& operator=(const LoraStack&) = delete;

  // A usage Error for a name already in the stack or an adapter made on other layers' shapes.
  void add(const std::string& name, Lora adapter, double scale = 1.0);
  Lora adapter(const std::string& name) const;
  void set_scale(const std::string& name, double scale);
  void set_enabled(const std::string& name, bool enabled);
  // Adds the adapter's product (times its scale) to the base weights, once; from then on it is
  // part of the base and apply() leaves it out. unmerge() subtracts the same product.
  void merge(const std::string& name);
  void unmerge(const std::string& name);
  // Binds every adapted layer's weight to base + the enabled, unmerged adapters' products.
  void apply();
  // Binds every adapted layer back to its base weight (the destructor does too).
  void release();

  // [{name, rank, alpha, scale, enabled, merged, layers}] for the model card.
  nlohmann::json describe() const;

 private:
  struct Layer;
  struct Entry {
    std::string name;
    Lora adapter{nullptr};
    double scale = 1;
    bool enabled = true;
    bool merged = false;
    std::vector<size_t> layer_of;  // adapter layer k -> index into layers_
  };
  Entry& entry(const std::string& name);
  const Entry& entry(const std::string& name) const;
  void add_product(const Entry& entry, double sign);

  torch::nn::Module& network_;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<Entry> entries_;
};

}  // namespace srkit
