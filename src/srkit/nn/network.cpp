#include "srkit/nn/network.h"

#include <algorithm>
#include <regex>

#include <torch/torch.h>

#include "srkit/core/config_section.h"
#include "srkit/core/error.h"
#include "srkit/nn/compact_cnn.h"
#include "srkit/nn/layers.h"
#include "srkit/nn/rdn.h"

namespace srkit {
namespace {

int64_t max_index(const KerasGraphSpec& topology, const std::regex& pattern, size_t group) {
  int64_t highest = 0;
  std::smatch match;
  for (const auto& layer : topology.layers) {
    if (std::regex_match(layer.name, match, pattern)) {
      highest = std::max<int64_t>(highest, std::stoll(match[group].str()));
    }
  }
  return highest;
}

int64_t filters_of(const KerasGraphSpec& topology, const std::string& name) {
  for (const auto& layer : topology.layers) {
    if (layer.name == name) return layer.config.at("filters").get<int64_t>();
  }
  throw setup_error(topology.source + ": no layer " + name);
}

}  // namespace

void NetworkImpl::load_keras_weights(const std::map<std::string, torch::Tensor>&,
                                     const std::string& source) {
  throw usage_error(source + ": Keras weights only load into RDN and RRDN networks");
}

int64_t NetworkImpl::parameter_count() const {
  int64_t count = 0;
  for (const auto& p : parameters()) count += p.numel();
  return count;
}

void NetworkImpl::set_channels_last(bool channels_last) {
  srkit::set_channels_last(*this, channels_last);
}

namespace {

// The most parameters a config may ask for: 1 GiB of float32 weights, 16 times the largest
// registered model (realesrgan-x4plus, 16.7 M). A model file's config is read before its weights,
// so a few bytes of a damaged or hostile file could otherwise ask for terabytes.
constexpr double kMaxNetworkParameters = double(int64_t{1} << 28);

template <class Config>
const Config& within_budget(const Config& config, const std::string& architecture) {
  const double parameters = parameter_count(config);
  if (parameters > kMaxNetworkParameters) {
    throw usage_error("network config: this " + architecture + " would hold " +
                      std::to_string(std::llround(parameters / 1e6)) +
                      " million parameters, more than srkit builds (" +
                      std::to_string(std::llround(kMaxNetworkParameters / 1e6)) +
                      " million): a damaged model file, or a config to make smaller");
  }
  return config;
}

}  // namespace

Network make_network(const nlohmann::json& config) {
  ConfigSection read(config, "", "network config");
  const auto architecture = read.get<std::string>("architecture", "");
  Network network;
  if (architecture == "rdn") {
    RdnConfig c;
    c.scale = read.integer("scale", c.scale, 1, 16);
    c.blocks = read.integer("blocks", c.blocks, 1, 256);
    c.convs = read.integer("convs", c.convs, 1, 64);
    c.growth = read.integer("growth", c.growth, 1, 1024);
    c.features = read.integer("features", c.features, 1, 1024);
    c.value_range = read.number("value_range", c.value_range, 1, 65535);
    network = std::make_shared<RdnImpl>(within_budget(c, architecture));
  } else if (architecture == "rrdn") {
    RrdnConfig c;
    c.scale = read.integer("scale", c.scale, 1, 16);
    c.rrdbs = read.integer("rrdbs", c.rrdbs, 1, 256);
    c.blocks = read.integer("blocks", c.blocks, 1, 64);
    c.convs = read.integer("convs", c.convs, 1, 64);
    c.growth = read.integer("growth", c.growth, 1, 1024);
    c.features = read.integer("features", c.features, 1, 1024);
    c.beta = read.number("beta", c.beta, 0, 1);
    c.value_range = read.number("value_range", c.value_range, 1, 65535);
    network = std::make_shared<RrdnImpl>(within_budget(c, architecture));
  } else if (architecture == "compact") {
    CompactConfig c;
    c.scale = read.integer("scale", c.scale, 1, 16);
    c.features = read.integer("features", c.features, 1, 1024);
    c.convs = read.integer("convs", c.convs, 0, 256);
    network = std::make_shared<CompactCnnImpl>(within_budget(c, architecture));
  } else {
    throw usage_error("network config: architecture must be rdn, rrdn or compact, got '" +
                      architecture + "'");
  }
  read.finish();
  return network;
}

Network network_from_keras(const KerasGraphSpec& topology, double value_range) {
  const auto has = [&](const std::string& name) {
    return std::any_of(topology.layers.begin(), topology.layers.end(),
                       [&](const KerasLayer& layer) { return layer.name == name; });
  };
  const auto source = topology.source;
  if (has("F_m1")) {
    RdnConfig c;
    c.blocks = max_index(topology, std::regex("LFF_([0-9]+)"), 1);
    c.convs = max_index(topology, std::regex("F_1_([0-9]+)"), 1);
    c.growth = filters_of(topology, "F_1_1");
    c.features = filters_of(topology, "F_0");
    c.scale = std::lround(std::sqrt(filters_of(topology, "UPN3") / 3.0));
    c.value_range = value_range;
    return std::make_shared<RdnImpl>(c);
  }
  if (has("Pre_blocks_conv")) {
    RrdnConfig c;
    c.rrdbs = max_index(topology, std::regex("LFF_([0-9]+)_([0-9]+)"), 1);
    c.blocks = max_index(topology, std::regex("LFF_1_([0-9]+)"), 1);
    c.convs = max_index(topology, std::regex("F_1_1_([0-9]+)"), 1);
    c.growth = filters_of(topology, "F_1_1_1");
    c.features = filters_of(topology, "Pre_blocks_conv");
    c.scale = std::lround(std::sqrt(filters_of(topology, "PreShuffle") / 3.0));
    for (const auto& layer : topology.layers) {
      if (layer.class_name == "MultiplyBeta") c.beta = layer.config.value("beta", 0.2);
    }
    c.value_range = value_range;
    return std::make_shared<RrdnImpl>(c);
  }
  throw setup_error(source +
                    ": not an RDN or RRDN graph (no layer F_m1 or Pre_blocks_conv); srkit's "
                    "native networks cannot take these weights");
}

}  // namespace srkit
