#include "srkit/io/ncnn_model.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/nn/ncnn_graph.h"

namespace srkit {
namespace {

constexpr uint32_t kTagFp16 = 0x01306B47;
constexpr uint32_t kTagInt8 = 0x000D4B38;
constexpr uint32_t kTagFp32Raw = 0x0002C056;
constexpr int kMagic = 7767517;
// More layers or blobs than any network has: a larger count is a damaged or hostile .param.
constexpr int kMaxCount = 1 << 20;

Error bad_file(const std::filesystem::path& path, const std::string& problem) {
  return setup_error(path.string() + ": " + problem);
}

double parse_number(const std::string& token, const std::filesystem::path& path, int line) {
  try {
    size_t used = 0;
    const double value = std::stod(token, &used);
    if (used == token.size()) return value;
  } catch (const std::exception&) {
  }
  throw bad_file(path, "line " + std::to_string(line) + ": '" + token +
                           "' is not a number (string parameters are not supported)");
}

// One `key=value` or `-233xx=n,v1,...` item.
void parse_param(const std::string& item, NcnnParams& params, const std::filesystem::path& path,
                 int line) {
  const auto eq = item.find('=');
  if (eq == std::string::npos) {
    throw bad_file(path,
                   "line " + std::to_string(line) + ": parameter '" + item + "' is not key=value");
  }
  int key = static_cast<int>(parse_number(item.substr(0, eq), path, line));
  std::vector<double> values;
  std::stringstream rest(item.substr(eq + 1));
  std::string token;
  while (std::getline(rest, token, ',')) values.push_back(parse_number(token, path, line));
  if (key <= -23300) {
    key = -(key + 23300);
    if (values.empty() || static_cast<size_t>(values.front()) != values.size() - 1) {
      throw bad_file(path, "line " + std::to_string(line) + ": array parameter '" + item +
                               "' does not hold the count it announces");
    }
    values.erase(values.begin());
  } else if (values.size() != 1) {
    throw bad_file(path, "line " + std::to_string(line) + ": parameter '" + item +
                             "' has several values but is not an array key");
  }
  params.values[key] = std::move(values);
}

NcnnGraphSpec read_param(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw bad_file(path, "cannot be read (is the path right?)");
  NcnnGraphSpec spec;
  spec.source = path.string();
  int magic = 0;
  int layer_count = 0;
  int blob_count = 0;
  if (!(in >> magic) || magic != kMagic) {
    throw bad_file(path, "is not an ncnn .param text file (no magic number 7767517)");
  }
  if (!(in >> layer_count >> blob_count) || layer_count <= 0 || blob_count <= 0) {
    throw bad_file(path, "line 2 must give the layer and blob counts");
  }
  if (layer_count > kMaxCount || blob_count > kMaxCount) {
    throw bad_file(path, "line 2 announces more layers or blobs than any model has (" +
                             std::to_string(kMaxCount) + ")");
  }
  std::string text;
  std::getline(in, text);  // end of line 2
  int line = 2;
  while (static_cast<int>(spec.layers.size()) < layer_count && std::getline(in, text)) {
    ++line;
    std::stringstream fields(text);
    NcnnLayerSpec layer;
    int bottoms = 0;
    int tops = 0;
    if (!(fields >> layer.type)) continue;  // a blank line
    if (!(fields >> layer.name >> bottoms >> tops) || bottoms < 0 || tops < 0 ||
        bottoms > blob_count || tops > blob_count) {
      throw bad_file(
          path, "line " + std::to_string(line) + ": expected 'type name bottom_count top_count'");
    }
    layer.bottoms.resize(bottoms);
    layer.tops.resize(tops);
    for (auto& b : layer.bottoms) fields >> b;
    for (auto& t : layer.tops) fields >> t;
    if (!fields) {
      throw bad_file(path, "line " + std::to_string(line) + ": layer " + layer.name +
                               " names fewer blobs than its counts say");
    }
    std::string item;
    while (fields >> item) parse_param(item, layer.params, path, line);
    if (!ncnn_layer_supported(layer.type)) {
      throw bad_file(path, "layer " + layer.name + " is of type " + layer.type +
                               ", which srkit does not run (supported: " + ncnn_supported_layers() +
                               ")");
    }
    spec.layers.push_back(std::move(layer));
  }
  if (static_cast<int>(spec.layers.size()) != layer_count) {
    throw bad_file(path, "announces " + std::to_string(layer_count) + " layers but holds " +
                             std::to_string(spec.layers.size()));
  }
  return spec;
}

class BinReader {
 public:
  explicit BinReader(const std::filesystem::path& path) : path_(path), in_(path, std::ios::binary) {
    if (!in_) throw bad_file(path, "cannot be read (the weights belong next to the .param)");
    std::error_code error;
    left_ = static_cast<int64_t>(std::filesystem::file_size(path, error));
    if (error) throw bad_file(path, "cannot be read (the weights belong next to the .param)");
  }

  // A weight blob: a 4-byte tag, then fp16 (padded to 4 bytes) or fp32 values.
  torch::Tensor tagged(int64_t count, const std::string& layer) {
    uint32_t tag = 0;
    read(&tag, sizeof tag, layer);
    if (tag == kTagFp16) {
      const int64_t bytes = (count * 2 + 3) / 4 * 4;
      require(bytes, layer);
      std::vector<uint8_t> buffer(static_cast<size_t>(bytes));
      read(buffer.data(), bytes, layer);
      return torch::from_blob(buffer.data(), {count}, torch::kHalf).to(torch::kFloat);
    }
    if (tag == 0 || tag == kTagFp32Raw) return raw(count, layer);
    if (tag == kTagInt8) {
      throw bad_file(path_, "layer " + layer +
                                " holds int8 weights, which srkit does not run (convert the "
                                "model with fp16 or fp32 storage)");
    }
    throw bad_file(path_, "layer " + layer +
                              " holds quantised weights (a lookup table), which srkit does not "
                              "run (convert the model with fp16 or fp32 storage)");
  }

  torch::Tensor raw(int64_t count, const std::string& layer) {
    require(count * 4, layer);  // before allocating what a .param announces
    auto out = torch::empty({count}, torch::kFloat);
    read(out.data_ptr<float>(), count * 4, layer);
    return out;
  }

  void expect_end() {
    if (in_.peek() != std::char_traits<char>::eof()) {
      throw bad_file(path_,
                     "is longer than the layers of its .param need (a .bin of another "
                     "model?)");
    }
  }

 private:
  // An Error when fewer than `bytes` are left in the file.
  void require(int64_t bytes, const std::string& layer) const {
    if (bytes < 0 || bytes > left_) {
      throw bad_file(path_, "ends inside the weights of layer " + layer +
                                " (truncated, or the .bin of another model)");
    }
  }

  void read(void* out, int64_t bytes, const std::string& layer) {
    require(bytes, layer);
    if (!in_.read(static_cast<char*>(out), bytes)) require(left_ + 1, layer);
    left_ -= bytes;
  }

  std::filesystem::path path_;
  std::ifstream in_;
  int64_t left_ = 0;  // bytes of the file not read yet
};

int64_t positive(const NcnnLayerSpec& layer, int key, const std::filesystem::path& path) {
  const int64_t v = layer.params.get_int(key, 0);
  if (v <= 0) {
    throw bad_file(path, "layer " + layer.name + " lacks parameter " + std::to_string(key) +
                             " (its weight size)");
  }
  return v;
}

// Each type's blobs, in the order ncnn's layers load them.
void read_weights(NcnnLayerSpec& layer, BinReader& bin, const std::filesystem::path& param) {
  const auto& p = layer.params;
  if (layer.type == "Convolution" || layer.type == "Deconvolution" ||
      layer.type == "InnerProduct") {
    const bool inner = layer.type == "InnerProduct";
    if (p.get_int(8, 0) != 0) {
      throw bad_file(param, "layer " + layer.name +
                                " is int8-quantised (parameter 8), which srkit does not run");
    }
    layer.weights.push_back(bin.tagged(positive(layer, inner ? 2 : 6, param), layer.name));
    if (p.get_int(inner ? 1 : 5, 0) != 0) {
      layer.weights.push_back(bin.raw(positive(layer, 0, param), layer.name));
    }
  } else if (layer.type == "PReLU") {
    layer.weights.push_back(bin.raw(positive(layer, 0, param), layer.name));
  } else if (layer.type == "Scale") {
    const int64_t size = p.get_int(0, 0);
    if (size != -233) layer.weights.push_back(bin.raw(positive(layer, 0, param), layer.name));
    if (p.get_int(1, 0) != 0) {
      if (size == -233) {
        throw bad_file(param, "layer " + layer.name +
                                  " has a bias but takes its scale from a blob: unsupported");
      }
      layer.weights.push_back(bin.raw(size, layer.name));
    }
  }
}

}  // namespace

std::filesystem::path ncnn_weights_path(const std::filesystem::path& param) {
  auto bin = param;
  return bin.replace_extension(".bin");
}

NcnnGraphSpec read_ncnn_model(const std::filesystem::path& param,
                              const std::filesystem::path& bin) {
  auto spec = read_param(param);
  if (bin.empty()) return spec;
  BinReader reader(bin);
  for (auto& layer : spec.layers) read_weights(layer, reader, param);
  reader.expect_end();
  return spec;
}

}  // namespace srkit
