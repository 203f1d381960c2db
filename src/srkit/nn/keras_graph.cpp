#include "srkit/nn/keras_graph.h"

#include <algorithm>
#include <cmath>
#include <regex>

#include <torch/nn/functional/activation.h>
#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/nn/layers.h"

namespace srkit {
namespace {

Error unsupported(const std::string& source, const KerasLayer& layer, const std::string& what) {
  return setup_error(
      source + ": layer '" + layer.name + "' (" + layer.class_name + ") " + what +
      "; srkit's TF.js reader supports InputLayer, Conv2D, Activation(relu), "
      "Concatenate, Add, UpSampling2D(nearest), MultiplyBeta, PixelShuffle<N>x, PixelShuffle");
}

std::string module_name(const std::string& layer_name) {
  std::string name = layer_name;
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
}

}  // namespace

KerasGraphImpl::KerasGraphImpl(const KerasGraphSpec& topology, bool fuse_upsampling)
    : source_(topology.source) {
  std::map<std::string, int64_t> kernel_in;  // conv layer -> its input channels, from the manifest
  for (const auto& spec : topology.weights) {
    const auto slash = spec.name.rfind('/');
    if (slash != std::string::npos && spec.name.substr(slash + 1) == "kernel" &&
        spec.shape.size() == 4) {
      kernel_in[spec.name.substr(0, slash)] = spec.shape[2];
    }
  }
  std::map<std::string, int> index_of;
  for (const auto& layer : topology.layers) {
    add_layer(layer, kernel_in, index_of);
    index_of[layer.name] = static_cast<int>(nodes_.size()) - 1;
  }
  if (!index_of.count(topology.output_layer) || !index_of.count(topology.input_layer)) {
    throw setup_error(source_ + ": input or output layer not found in the graph");
  }
  output_ = index_of.at(topology.output_layer);
  mark_last_uses();

  // Channels and spatial factor of every node, propagated in topological order.
  std::vector<int64_t> channels(nodes_.size());
  std::vector<double> spatial(nodes_.size(), 1.0);
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const auto& node = nodes_[i];
    if (node.op == Op::kInput) {
      channels[i] = topology.layers[i].config.at("batch_input_shape").back().get<int64_t>();
      continue;
    }
    const int first = node.inputs.at(0);
    spatial[i] = spatial[first];
    channels[i] = channels[first];
    switch (node.op) {
      case Op::kConv:
        channels[i] = convs_[node.conv]->options.out_channels();
        break;
      case Op::kConcat:
        channels[i] = 0;
        for (int input : node.inputs) channels[i] += channels[input];
        break;
      case Op::kUpsample:
        spatial[i] *= static_cast<double>(node.factor);
        break;
      case Op::kDepthToSpace:
        spatial[i] *= static_cast<double>(node.factor);
        channels[i] /= node.factor * node.factor;
        break;
      default:
        break;
    }
  }
  compute_stats(channels, spatial);
  if (fuse_upsampling) fuse_upsampling_into_convs();
}

void KerasGraphImpl::mark_last_uses() {
  for (auto& node : nodes_) node.last_use = -1;
  for (int i = 0; i < static_cast<int>(nodes_.size()); ++i) {
    for (int input : nodes_[i].inputs) nodes_[input].last_use = i;
  }
}

void KerasGraphImpl::fuse_upsampling_into_convs() {
  const auto readers = [this](int producer) {
    return std::count_if(nodes_.begin(), nodes_.end(), [producer](const Node& n) {
      return std::find(n.inputs.begin(), n.inputs.end(), producer) != n.inputs.end();
    });
  };
  for (auto& node : nodes_) {
    if (node.op != Op::kConv) continue;
    const int producer = node.inputs[0];
    const auto& upsample = nodes_[producer];
    const auto& dilation = *convs_[node.conv]->options.dilation();
    if (upsample.op != Op::kUpsample || readers(producer) != 1 || producer == output_ ||
        dilation[0] != 1 || dilation[1] != 1) {
      continue;
    }
    node.op = Op::kUpsampleConv;
    node.factor = upsample.factor;
    node.inputs[0] = upsample.inputs[0];  // read the low-resolution tensor directly
    node.fused = static_cast<int>(fused_weights_.size());
    const auto name = module_name(node.name);
    fused_weights_.push_back(register_buffer(name + "_fused_weight", torch::empty({0})));
    fused_biases_.push_back(register_buffer(name + "_fused_bias", torch::empty({0})));
  }
  mark_last_uses();
  compute_fused_weights();
}

// The fused kernels are derived from the convolutions' weights (nn/layers.h explains the form).
void KerasGraphImpl::compute_fused_weights() {
  torch::NoGradGuard no_grad;
  for (const auto& node : nodes_) {
    if (node.op != Op::kUpsampleConv) continue;
    const auto& conv = convs_[node.conv];
    const int64_t s = node.factor;
    auto weight = upsample_conv_weight(conv->weight.contiguous(), s);
    if (channels_last_) weight = weight.contiguous(torch::MemoryFormat::ChannelsLast);
    fused_weights_[node.fused].set_data(weight);
    fused_biases_[node.fused].set_data(
        conv->options.bias() ? conv->bias.repeat_interleave(s * s).contiguous()
                             : torch::zeros({conv->weight.size(0) * s * s}, weight.options()));
  }
}

void KerasGraphImpl::add_layer(const KerasLayer& layer,
                               const std::map<std::string, int64_t>& kernel_in,
                               const std::map<std::string, int>& index_of) {
  Node node;
  node.name = layer.name;
  for (const auto& input : layer.inputs) {
    const auto found = index_of.find(input);
    if (found == index_of.end()) throw unsupported(source_, layer, "reads a layer defined later");
    node.inputs.push_back(found->second);
  }
  if (layer.class_name != "InputLayer" && node.inputs.empty()) {
    throw unsupported(source_, layer, "has no inputs");
  }
  const auto& config = layer.config;
  static const std::regex kPixelShuffle("PixelShuffle([0-9]+)x");
  std::smatch match;

  if (layer.class_name == "InputLayer") {
    node.op = Op::kInput;
  } else if (layer.class_name == "Conv2D") {
    const auto kernel = config.at("kernel_size").get<std::vector<int64_t>>();
    const auto strides = config.value("strides", std::vector<int64_t>{1, 1});
    const auto dilation = config.value("dilation_rate", std::vector<int64_t>{1, 1});
    const auto padding = config.value("padding", std::string("valid"));
    const auto activation = config.value("activation", std::string("linear"));
    if (strides != std::vector<int64_t>{1, 1}) throw unsupported(source_, layer, "has a stride");
    if (kernel[0] % 2 == 0 || kernel[1] % 2 == 0) {
      throw unsupported(source_, layer, "has an even kernel size");
    }
    if (padding != "same" && !(kernel[0] == 1 && kernel[1] == 1)) {
      throw unsupported(source_, layer, "uses 'valid' padding with a kernel larger than 1");
    }
    if (activation != "linear" && activation != "relu") {
      throw unsupported(source_, layer, "has activation '" + activation + "'");
    }
    const auto in = kernel_in.find(layer.name);
    if (in == kernel_in.end()) throw unsupported(source_, layer, "has no kernel in the manifest");
    const int64_t filters = config.at("filters").get<int64_t>();
    auto conv = torch::nn::Conv2d(
        torch::nn::Conv2dOptions(in->second, filters, {kernel[0], kernel[1]})
            .padding({dilation[0] * (kernel[0] / 2), dilation[1] * (kernel[1] / 2)})
            .dilation({dilation[0], dilation[1]})
            .bias(config.value("use_bias", true)));
    node.op = Op::kConv;
    node.relu = activation == "relu";
    node.conv = static_cast<int>(convs_.size());
    convs_.push_back(register_module(module_name(layer.name), conv));
    conv_layer_names_.push_back(layer.name);
  } else if (layer.class_name == "Activation") {
    if (config.value("activation", std::string()) != "relu") {
      throw unsupported(source_, layer, "is not a relu activation");
    }
    node.op = Op::kRelu;
  } else if (layer.class_name == "Concatenate") {
    const int axis = config.value("axis", -1);
    if (axis != -1 && axis != 3) throw unsupported(source_, layer, "is not on the channel axis");
    node.op = Op::kConcat;
  } else if (layer.class_name == "Add") {
    node.op = Op::kAdd;
  } else if (layer.class_name == "UpSampling2D") {
    const auto size = config.at("size").get<std::vector<int64_t>>();
    if (size[0] != size[1] || config.value("interpolation", std::string("nearest")) != "nearest") {
      throw unsupported(source_, layer, "is not a square nearest-neighbour upsampling");
    }
    node.op = Op::kUpsample;
    node.factor = size[0];
  } else if (layer.class_name == "MultiplyBeta") {
    node.op = Op::kScale;
    node.multiplier = config.value("beta", 0.2);  // UpscalerJS's constant when the config omits it
  } else if (std::regex_match(layer.class_name, match, kPixelShuffle)) {
    node.op = Op::kDepthToSpace;
    node.factor = std::stoll(match[1].str());
  } else if (layer.class_name == "PixelShuffle") {  // idealo's RRDN: the factor in its config
    node.op = Op::kDepthToSpace;
    node.factor = config.at("scale").get<int64_t>();
  } else {
    throw unsupported(source_, layer, "is not supported");
  }
  nodes_.push_back(node);
}

void KerasGraphImpl::compute_stats(const std::vector<int64_t>& channels,
                                   const std::vector<double>& spatial) {
  stats_.in_channels = channels.at(0);
  stats_.out_channels = channels.at(output_);
  stats_.scale = static_cast<int64_t>(std::lround(spatial.at(output_)));
  for (const auto& conv : convs_) {
    for (const auto& p : conv->parameters()) stats_.parameters += p.numel();
  }
  std::vector<double> radius(nodes_.size(), 0.0);
  double live_bytes = 0;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const auto& node = nodes_[i];
    const double area = spatial[i] * spatial[i];
    for (int input : node.inputs) radius[i] = std::max(radius[i], radius[input]);
    if (node.op == Op::kConv) {
      const auto& options = convs_[node.conv]->options;
      const auto k = (*options.kernel_size())[0], d = (*options.dilation())[0];
      // A k x k conv at spatial factor f reaches (k-1)/2 * d of its pixels = that / f input pixels.
      radius[i] += static_cast<double>((k - 1) / 2 * d) / spatial[i];
      stats_.flops_per_input_pixel += 2.0 * static_cast<double>(options.in_channels()) *
                                      static_cast<double>(options.out_channels()) * k *
                                      (*options.kernel_size())[1] * area;
    }
    // Inference keeps a tensor until its last reader has run; the new output joins them.
    live_bytes += 4.0 * static_cast<double>(channels[i]) * area;
    stats_.peak_bytes_per_input_pixel = std::max(stats_.peak_bytes_per_input_pixel, live_bytes);
    for (int input : node.inputs) {
      if (nodes_[input].last_use == static_cast<int>(i)) {
        live_bytes -= 4.0 * static_cast<double>(channels[input]) * spatial[input] * spatial[input];
      }
    }
  }
  stats_.receptive_radius = radius.at(output_);
}

void KerasGraphImpl::load_weights(const std::map<std::string, torch::Tensor>& weights) {
  for (size_t c = 0; c < convs_.size(); ++c) {
    load_keras_conv(convs_[c], conv_layer_names_[c], weights, source_);
  }
  compute_fused_weights();
}

void KerasGraphImpl::set_channels_last(bool channels_last) {
  torch::NoGradGuard no_grad;
  const auto format =
      channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  channels_last_ = channels_last;
  for (auto& conv : convs_) conv->weight.set_data(conv->weight.contiguous(format));
  compute_fused_weights();
}

torch::Tensor KerasGraphImpl::forward(const torch::Tensor& input) {
  std::vector<torch::Tensor> values(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const auto& node = nodes_[i];
    if (node.last_use < 0 && static_cast<int>(i) != output_) continue;  // fused away
    auto in = [&](size_t k) -> const torch::Tensor& { return values[node.inputs[k]]; };
    switch (node.op) {
      case Op::kInput:
        values[i] = input;
        break;
      case Op::kConv:
        values[i] = convs_[node.conv]->forward(in(0));
        if (node.relu) values[i].relu_();
        break;
      case Op::kRelu:
        values[i] = torch::relu(in(0));
        break;
      case Op::kConcat: {
        std::vector<torch::Tensor> parts;
        for (size_t k = 0; k < node.inputs.size(); ++k) parts.push_back(in(k));
        values[i] = cat_channels(parts);
        break;
      }
      case Op::kAdd:
        values[i] = in(0) + in(1);
        for (size_t k = 2; k < node.inputs.size(); ++k) values[i] += in(k);
        break;
      case Op::kUpsample:
        values[i] = in(0).repeat_interleave(node.factor, 2).repeat_interleave(node.factor, 3);
        break;
      case Op::kScale:
        values[i] = in(0) * node.multiplier;
        break;
      case Op::kDepthToSpace:
        values[i] = depth_to_space_tf(in(0), node.factor);
        break;
      case Op::kUpsampleConv: {
        const auto& weight = fused_weights_[node.fused];
        values[i] = torch::pixel_shuffle(
            torch::conv2d(in(0), weight, fused_biases_[node.fused], 1,
                          at::IntArrayRef{weight.size(2) / 2, weight.size(3) / 2}),
            node.factor);
        if (node.relu) values[i].relu_();
        break;
      }
    }
    for (int input : node.inputs) {
      if (nodes_[input].last_use == static_cast<int>(i) && input != output_) values[input].reset();
    }
  }
  return values[output_];
}

}  // namespace srkit
