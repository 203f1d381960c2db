#include "srkit/io/tfjs_model.h"

#include <algorithm>
#include <fstream>
#include <numeric>

#include <torch/torch.h>

#include "srkit/core/element_count.h"
#include "srkit/core/error.h"

namespace srkit {
namespace {

constexpr const char* kFix = "run scripts/setup.sh to fetch the model again";
// More elements than any weight of a model srkit runs (2^34, 64 GB as float32): a larger shape is
// a damaged or hostile manifest.
constexpr int64_t kMaxWeightElements = int64_t{1} << 34;

Error bad_model(const std::filesystem::path& path, const std::string& problem) {
  return setup_error(path.string() + ": " + problem + " (" + kFix + ")");
}

nlohmann::json parse_json_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw bad_model(path, "model file is missing");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw bad_model(path, std::string("is not valid JSON: ") + e.what());
  }
}

// Keras stores inbound nodes as [[[layer_name, node_index, tensor_index, kwargs], ...]].
std::vector<std::string> inbound_layer_names(const nlohmann::json& layer) {
  std::vector<std::string> names;
  const auto& nodes = layer.at("inbound_nodes");
  if (nodes.empty()) return names;
  for (const auto& edge : nodes.at(0)) names.push_back(edge.at(0).get<std::string>());
  return names;
}

std::string single_endpoint(const nlohmann::json& endpoints, const std::filesystem::path& path,
                            const char* what) {
  if (endpoints.size() != 1) {
    throw bad_model(path, std::string("has ") + std::to_string(endpoints.size()) + " " + what +
                              " layers; srkit supports exactly one");
  }
  return endpoints.at(0).at(0).get<std::string>();
}

}  // namespace

TfjsLayersModel read_tfjs_topology(const std::filesystem::path& model_json) {
  const nlohmann::json root = parse_json_file(model_json);
  TfjsLayersModel model;
  model.model_json = model_json;
  model.source = model_json.string();
  try {
    if (root.value("format", "") != "layers-model") {
      throw bad_model(model_json,
                      "is not a TF.js layers-model (format is '" + root.value("format", "") + "')");
    }
    const auto& config = root.at("modelTopology").at("model_config").at("config");
    for (const auto& layer : config.at("layers")) {
      model.layers.push_back({layer.at("name").get<std::string>(),
                              layer.at("class_name").get<std::string>(), inbound_layer_names(layer),
                              layer.at("config")});
    }
    model.input_layer = single_endpoint(config.at("input_layers"), model_json, "input");
    model.output_layer = single_endpoint(config.at("output_layers"), model_json, "output");

    const auto directory = model_json.parent_path();
    for (const auto& group : root.at("weightsManifest")) {
      for (const auto& shard : group.at("paths")) {
        // A shard lies in the model's folder: a manifest naming /etc/passwd or ../x is refused.
        const std::filesystem::path relative(shard.get<std::string>());
        const bool inside = !relative.empty() && relative.is_relative() &&
                            std::none_of(relative.begin(), relative.end(),
                                         [](const auto& part) { return part == ".."; });
        if (!inside) {
          throw bad_model(model_json,
                          "names the weight shard '" + relative.string() + "' outside its folder");
        }
        model.shard_paths.push_back(directory / relative);
      }
      for (const auto& weight : group.at("weights")) {
        const auto name = weight.at("name").get<std::string>();
        if (weight.value("dtype", "float32") != "float32") {
          throw bad_model(model_json, "weight " + name + " is " + weight.value("dtype", "") +
                                          ", not float32, which srkit does not read");
        }
        TfjsLayersModel::Storage storage;
        if (weight.contains("quantization")) {
          const auto& q = weight.at("quantization");
          storage.dtype = q.at("dtype").get<std::string>();
          if (storage.dtype == "uint8" || storage.dtype == "uint16") {
            storage.scale = q.at("scale").get<double>();
            storage.min = q.at("min").get<double>();
          } else if (storage.dtype != "float16") {
            throw bad_model(model_json, "weight " + name + " is quantised as " + storage.dtype +
                                            ", which srkit does not read (uint8, uint16, float16)");
          }
        }
        auto shape = weight.at("shape").get<std::vector<int64_t>>();
        if (!element_count(shape, kMaxWeightElements)) {
          throw bad_model(model_json, "weight " + name + " has an impossible shape");
        }
        model.weights.push_back({name, std::move(shape)});
        model.storage.push_back(storage);
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw bad_model(model_json, std::string("unexpected layout: ") + e.what());
  }
  return model;
}

std::map<std::string, torch::Tensor> read_tfjs_weights(const TfjsLayersModel& model) {
  std::vector<char> bytes;
  for (const auto& shard : model.shard_paths) {
    std::ifstream in(shard, std::ios::binary);
    if (!in) throw bad_model(shard, "weight shard is missing");
    bytes.insert(bytes.end(), std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const auto element_bytes = [](const std::string& dtype) -> int64_t {
    return dtype == "uint8" ? 1 : dtype == "uint16" || dtype == "float16" ? 2 : 4;
  };
  const auto count = [](const WeightSpec& spec) {
    return std::accumulate(spec.shape.begin(), spec.shape.end(), int64_t{1},
                           std::multiplies<int64_t>());
  };
  const auto storage_of = [&model](size_t i) {
    return i < model.storage.size() ? model.storage[i] : TfjsLayersModel::Storage{};
  };
  int64_t expected = 0;  // each weight's count is checked (read_tfjs_topology): no overflow
  for (size_t i = 0; i < model.weights.size(); ++i) {
    expected += element_bytes(storage_of(i).dtype) * count(model.weights[i]);
    if (expected > static_cast<int64_t>(bytes.size())) break;
  }
  if (expected != static_cast<int64_t>(bytes.size())) {
    throw bad_model(model.model_json, "weight shards hold " + std::to_string(bytes.size()) +
                                          " bytes but the manifest needs " +
                                          std::to_string(expected));
  }
  std::map<std::string, torch::Tensor> weights;
  int64_t offset = 0;
  for (size_t i = 0; i < model.weights.size(); ++i) {
    const auto& spec = model.weights[i];
    const auto storage = storage_of(i);
    // TF.js writes little-endian values, the host order on every machine srkit targets.
    torch::Tensor tensor;
    if (storage.dtype == "uint16") {  // LibTorch has no uint16: combine the bytes
      const auto pairs = torch::from_blob(bytes.data() + offset, {count(spec), 2}, torch::kUInt8)
                             .to(torch::kInt32);
      tensor = (pairs.select(1, 0) + pairs.select(1, 1) * 256).view(spec.shape);
    } else {
      const auto dtype = storage.dtype == "uint8"     ? torch::kUInt8
                         : storage.dtype == "float16" ? torch::kFloat16
                                                      : torch::kFloat32;
      tensor = torch::from_blob(bytes.data() + offset, spec.shape, dtype).clone();
    }
    tensor = tensor.to(torch::kFloat32);
    if (storage.dtype == "uint8" || storage.dtype == "uint16") {
      tensor = (tensor.to(torch::kFloat64) * storage.scale + storage.min).to(torch::kFloat32);
    }
    offset += element_bytes(storage.dtype) * count(spec);
    weights[spec.name] = tensor;
  }
  return weights;
}

}  // namespace srkit
