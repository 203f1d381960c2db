#include "srkit/nn/structure_adapter.h"

#include <set>

#include <torch/nn/functional/activation.h>
#include <torch/nn/modules/conv.h>
#include <torch/torch.h>

#include "srkit/core/error.h"

namespace srkit {
namespace {

namespace F = torch::nn::functional;

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2));
}

// conv -> ReLU -> conv, plus the input (T2I-Adapter's ResnetBlock).
class AdapterBlockImpl : public torch::nn::Module {
 public:
  explicit AdapterBlockImpl(int64_t channels)
      : conv1_(register_module("conv1", conv(channels, channels, 3))),
        conv2_(register_module("conv2", conv(channels, channels, 3))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    return x + conv2_->forward(torch::relu(conv1_->forward(x)));
  }

 private:
  torch::nn::Conv2d conv1_, conv2_;
};
TORCH_MODULE(AdapterBlock);

// One condition's branch: unshuffle by 2, a convolution, then per level (a stride-2 convolution
// below the half-resolution one) residual blocks and a zero-initialised 1x1 head to the level's
// width (level 0's to 4x its width, pixel-shuffled to full resolution).
class AdapterBranchImpl : public torch::nn::Module {
 public:
  AdapterBranchImpl(int64_t in, const StructureAdapterOptions& options)
      : input_(register_module("input", conv(4 * in, options.channels, 3))) {
    const auto levels = options.level_widths.size();
    for (size_t level = 0; level < levels; ++level) {
      if (level >= 2) downsamples_->push_back(conv(options.channels, options.channels, 3, 2));
      torch::nn::Sequential blocks;
      for (int64_t b = 0; b < options.blocks; ++b)
        blocks->push_back(AdapterBlock(options.channels));
      blocks_->push_back(blocks);
      const int64_t width = options.level_widths[level] * (level == 0 ? 4 : 1);
      auto head = conv(options.channels, width, 1);
      torch::NoGradGuard no_grad;
      head->weight.zero_();
      head->bias.zero_();
      heads_->push_back(head);
    }
    register_module("downsamples", downsamples_);
    register_module("blocks", blocks_);
    register_module("heads", heads_);
  }

  std::vector<torch::Tensor> forward(const torch::Tensor& condition) {
    auto h = input_->forward(torch::pixel_unshuffle(condition, 2));
    std::vector<torch::Tensor> features;
    for (size_t level = 0; level < blocks_->size(); ++level) {
      if (level >= 2) h = downsamples_[level - 2]->as<torch::nn::Conv2d>()->forward(h);
      // Levels 0 and 1 both run at half resolution; level 0's head is shuffled up.
      h = blocks_[level]->as<torch::nn::Sequential>()->forward(h);
      auto feature = heads_[level]->as<torch::nn::Conv2d>()->forward(h);
      features.push_back(level == 0 ? torch::pixel_shuffle(feature, 2) : feature);
    }
    return features;
  }

 private:
  torch::nn::Conv2d input_;
  torch::nn::ModuleList downsamples_, blocks_, heads_;
};
TORCH_MODULE(AdapterBranch);

}  // namespace

nlohmann::json to_json(const StructureAdapterOptions& o) {
  return {{"branches", o.branches},
          {"weights", o.weights},
          {"level_widths", o.level_widths},
          {"channels", o.channels},
          {"blocks", o.blocks}};
}

StructureAdapterOptions structure_adapter_options(const nlohmann::json& json) {
  static const std::set<std::string> kKeys{"branches", "weights", "level_widths", "channels",
                                           "blocks"};
  if (!json.is_object()) throw usage_error("structure adapter: the options are not an object");
  for (const auto& [key, value] : json.items()) {
    if (!kKeys.count(key)) throw usage_error("structure adapter: unknown key '" + key + "'");
  }
  const auto integers = [&](const char* key) {
    std::vector<int64_t> values;
    const auto& list = json.at(key);
    if (!list.is_array() || list.empty() || list.size() > 8) {
      throw usage_error(std::string("structure adapter: '") + key +
                        "' must be a list of 1 to 8 integers");
    }
    for (const auto& v : list) {
      if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > 4096) {
        throw usage_error(std::string("structure adapter: each of '") + key +
                          "' must be an integer in 1..4096");
      }
      values.push_back(v.get<int64_t>());
    }
    return values;
  };
  StructureAdapterOptions o;
  try {
    o.branches = integers("branches");
    o.level_widths = integers("level_widths");
    for (const auto& w : json.at("weights")) o.weights.push_back(w.get<double>());
    o.channels = json.value("channels", o.channels);
    o.blocks = json.value("blocks", o.blocks);
  } catch (const nlohmann::json::exception&) {
    throw usage_error(
        "structure adapter: needs branches, weights (numbers) and level_widths; channels and "
        "blocks are integers");
  }
  if (o.weights.size() != o.branches.size()) {
    throw usage_error("structure adapter: 'weights' must have one number per branch (" +
                      std::to_string(o.branches.size()) + ")");
  }
  if (o.channels < 1 || o.channels > 4096 || o.blocks < 1 || o.blocks > 16) {
    throw usage_error("structure adapter: 'channels' must be in 1..4096 and 'blocks' in 1..16");
  }
  return o;
}

StructureAdapterImpl::StructureAdapterImpl(const StructureAdapterOptions& options)
    : options_(options) {
  if (options.branches.empty() || options.weights.size() != options.branches.size() ||
      options.level_widths.empty()) {
    throw usage_error("structure adapter: needs one weight per branch and at least one level");
  }
  for (int64_t channels : options.branches) branches_->push_back(AdapterBranch(channels, options));
  register_module("branches", branches_);
}

std::vector<torch::Tensor> StructureAdapterImpl::forward(
    const std::vector<torch::Tensor>& conditions) {
  if (conditions.size() != branches_->size()) {
    throw usage_error("structure adapter: " + std::to_string(conditions.size()) +
                      " condition maps given for " + std::to_string(branches_->size()) +
                      " branches");
  }
  std::vector<torch::Tensor> sum;
  for (size_t b = 0; b < conditions.size(); ++b) {
    const auto& c = conditions[b];
    if (c.dim() != 4 || c.size(1) != options_.branches[b] || c.size(2) % 2 || c.size(3) % 2) {
      throw usage_error("structure adapter: condition " + std::to_string(b) + " must be [N," +
                        std::to_string(options_.branches[b]) + ",H,W] with H and W even");
    }
    auto features = branches_[b]->as<AdapterBranch>()->forward(c);
    for (size_t level = 0; level < features.size(); ++level) {
      auto weighted = features[level] * options_.weights[b];
      if (sum.size() <= level) {
        sum.push_back(weighted);
      } else {
        sum[level] = sum[level] + weighted;
      }
    }
  }
  return sum;
}

ConditionedFlowUNetImpl::ConditionedFlowUNetImpl(FlowUNet network_in,
                                                 const StructureAdapterOptions& adapter_options)
    : network(register_module("network", std::move(network_in))),
      adapter(register_module("adapter", StructureAdapter(adapter_options))) {
  if (adapter_options.level_widths != network->level_widths()) {
    throw usage_error("structure adapter: its level widths are not the flow network's");
  }
}

torch::Tensor ConditionedFlowUNetImpl::forward(const torch::Tensor& x_s,
                                               const torch::Tensor& condition,
                                               const torch::Tensor& s,
                                               const std::vector<torch::Tensor>& structure,
                                               const torch::Tensor& keep) {
  auto features = adapter->forward(structure);
  if (keep.defined()) {
    const auto k = keep.to(x_s.dtype()).view({-1, 1, 1, 1});
    for (auto& f : features) f = f * k;
  }
  return network->forward(x_s, condition, s, features);
}

}  // namespace srkit
