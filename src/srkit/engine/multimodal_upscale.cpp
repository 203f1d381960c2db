#include "srkit/engine/multimodal_upscale.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/io/depth_file.h"
#include "srkit/io/image_io.h"
#include "srkit/io/numpy_file.h"
#include "srkit/models/multimodal_model.h"
#include "srkit/nn/task_prompt.h"
#include "srkit/ops/modality_maps.h"
#include "srkit/ops/resize.h"

namespace srkit {
namespace {

// A user's map with the modality's channels on the output grid, in [0,1].
torch::Tensor fitted_map(const std::string& name, const torch::Tensor& map, int64_t channels,
                         int64_t height, int64_t width) {
  if (map.dim() != 3) throw usage_error("{{modality}} " + name + ": the map is not an image");
  auto m = map.to(torch::kCPU, torch::kFloat);
  if (m.size(0) != channels) {
    if (m.size(0) == 1) {
      m = m.expand({channels, m.size(1), m.size(2)});
    } else if (channels == 1 && (m.size(0) == 3 || m.size(0) == 4)) {
      m = m.slice(0, 0, 3).mean(0, true);
    } else {
      throw usage_error("{{modality}} " + name + ": the map has " + std::to_string(m.size(0)) +
                        " channels and the model's " + name + " takes " + std::to_string(channels) +
                        " (or a gray map)");
    }
  }
  return normalised_map(m.contiguous(), height, width);
}

// The file of `input` in a folder of maps: the one whose stem is the input's.
std::filesystem::path file_in_folder(const std::string& name, const std::filesystem::path& folder,
                                     const std::filesystem::path& input) {
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (entry.is_regular_file() && entry.path().stem() == input.stem()) return entry.path();
  }
  throw usage_error("{{modality}} " + name + "=" + folder.string() + ": the folder has no file " +
                    "named " + input.stem().string() + ".* for the input " + input.string());
}

}  // namespace

ModalityInputs read_modality_inputs(const std::map<std::string, std::filesystem::path>& given,
                                    const std::filesystem::path& input) {
  ModalityInputs out;
  for (const auto& [name, where] : given) {
    if (where == "none") {
      out.dropped.insert(name);
      continue;
    }
    if (!std::filesystem::exists(where)) {
      throw usage_error("{{modality}} " + name + "=" + where.string() + ": no such file or folder");
    }
    const auto path =
        std::filesystem::is_directory(where) ? file_in_folder(name, where, input) : where;
    try {
      if (name == "text") {
        if (path.extension() == ".npy") {
          out.text_embedding = read_npy(path).to(torch::kFloat).flatten();
        } else {
          std::ifstream file(path);
          std::stringstream text;
          text << file.rdbuf();
          out.text = text.str();
          if (!file || out.text.empty())
            throw input_error(path.string(), "an empty caption", "write the caption in the file");
        }
      } else if (name == "depth") {
        auto depth = read_depth_map(path);
        const auto known = torch::isfinite(depth);
        if (!known.any().item<bool>())
          throw input_error(path.string(), "no pixel has a known depth");
        const auto lowest = depth.masked_select(known).min();
        out.maps[name] = torch::where(known, depth, lowest).unsqueeze(0);
      } else {
        out.maps[name] = read_image(path).pixels;
      }
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::kCancelled) throw;
      throw usage_error("{{modality}} " + name + "=" + path.string() + ": " + e.what());
    }
  }
  return out;
}

std::vector<float> modality_colour(int64_t k) {
  static const std::vector<std::vector<float>> kColours{{1, 0.15f, 0.1f},   {0.1f, 0.8f, 0.2f},
                                                        {0.15f, 0.35f, 1},  {1, 0.85f, 0.1f},
                                                        {0.9f, 0.2f, 0.9f}, {0.1f, 0.9f, 0.9f}};
  return kColours[static_cast<size_t>(k) % kColours.size()];
}

torch::Tensor weights_picture(const torch::Tensor& weights) {
  auto picture = torch::zeros({3, weights.size(1), weights.size(2)});
  for (int64_t k = 0; k < weights.size(0); ++k) {
    const auto colour = torch::tensor(modality_colour(k)).view({3, 1, 1});
    picture += colour * weights[k].to(torch::kCPU, torch::kFloat).unsqueeze(0);
  }
  return picture.clamp(0, 1);
}

MultimodalResult multimodal_upscale(Model& model, const torch::Tensor& image,
                                    const ModalityInputs& given, const TileOptions& tiling,
                                    const ProgressFn& progress) {
  auto* multimodal = dynamic_cast<MultimodalModel*>(&model);
  if (!multimodal) {
    throw usage_error("{{model}} " + model.card().name + " is not a multi-modal model");
  }
  const auto& config = multimodal->network().config();
  const int64_t channels = image.size(0);
  if (image.dim() != 3 || (channels != 1 && channels != 3 && channels != 4)) {
    throw usage_error("{{model}} " + model.card().name + " takes gray, RGB or RGBA images");
  }
  torch::NoGradGuard no_grad;
  const auto device = image.device();
  const int64_t s = config.scale, h = image.size(1), w = image.size(2);
  const int64_t height = h * s, width = w * s;
  const auto unit = image.scalar_type() == torch::kUInt8 ? image.to(torch::kFloat) / 255
                                                         : image.to(torch::kFloat);
  const auto rgb =
      (channels == 1 ? unit.expand({3, h, w}) : unit.slice(0, 0, 3)).unsqueeze(0).contiguous();
  std::vector<std::string> named;
  for (const auto& [name, map] : given.maps) named.push_back(name);
  named.insert(named.end(), given.dropped.begin(), given.dropped.end());
  for (const auto& name : named) {
    if (std::find(config.modalities.begin(), config.modalities.end(), name) ==
        config.modalities.end()) {
      throw usage_error("{{modality}} " + name + ": " + model.card().name +
                        " does not take it (it was trained with " +
                        (config.modalities.empty() ? std::string("no modalities")
                                                   : nlohmann::json(config.modalities).dump()) +
                        ")");
    }
  }

  MultimodalResult result;
  std::map<std::string, torch::Tensor> maps;  // [1,C,H,W] on the device
  torch::Tensor text;                         // [1,D,1,1], broadcast over each window
  for (size_t k = 0; k < config.modalities.size(); ++k) {
    const auto& name = config.modalities[k];
    const int64_t c = config.channels[k];
    const auto found = given.maps.find(name);
    if (given.dropped.count(name)) {
      result.missing.push_back(name);
    } else if (found != given.maps.end()) {
      maps[name] = fitted_map(name, found->second, c, height, width).unsqueeze(0).to(device);
      result.given.push_back(name);
    } else if (name == "edges") {
      maps[name] = edge_maps(rgb.cpu(), s).to(device);
      result.computed.push_back(name);
    } else if (name == "segmentation") {
      maps[name] = segmentation_maps(rgb.cpu(), s, multimodal->segmentation_region()).to(device);
      result.computed.push_back(name);
    } else if (name == "text" && (given.text_embedding.defined() || !given.text.empty())) {
      auto embedding = given.text_embedding.defined()
                           ? given.text_embedding.to(torch::kCPU, torch::kFloat).flatten()
                           : hashed_text_features(given.text, c);
      if (embedding.numel() != c) {
        throw usage_error("{{modality}} text: the embedding has " +
                          std::to_string(embedding.numel()) + " values and the model takes " +
                          std::to_string(c));
      }
      text = embedding.view({1, c, 1, 1}).to(device);
      result.given.push_back(name);
    } else {
      result.missing.push_back(name);
    }
  }

  const bool weighted = config.fusion == Fusion::kDynamic || config.fusion == Fusion::kStatic ||
                        config.fusion == Fusion::kScalar;
  const int64_t k_count = static_cast<int64_t>(config.modalities.size());
  const int64_t out_channels = 3 + (weighted ? k_count : 0);
  const auto plan = plan_tiles(h, w, model.card(), tiling, device);
  const WindowForward forward = [&](int64_t top, int64_t left) {
    ModelInput input;
    input.image = rgb.slice(2, top, top + plan.window_h).slice(3, left, left + plan.window_w);
    for (const auto& [name, map] : maps) {
      input.extras[name] = map.slice(2, top * s, (top + plan.window_h) * s)
                               .slice(3, left * s, (left + plan.window_w) * s);
    }
    if (text.defined()) {
      input.extras["text"] =
          text.expand({1, text.size(1), plan.window_h * s, plan.window_w * s}).contiguous();
    }
    input.top = top;
    input.left = left;
    ModelDiagnostics diagnostics;
    auto out = model.run(input, &diagnostics)[0];
    if (!weighted) return out.contiguous();
    const auto weights = diagnostics.at("weights")[0].to(out.dtype());
    return torch::cat({out, weights.repeat_interleave(s, 1).repeat_interleave(s, 2)}, 0);
  };
  const auto blended =
      blend_windows(plan, h, w, s, out_channels,
                    torch::TensorOptions().dtype(torch::kFloat).device(device), forward, progress);
  auto out = blended.slice(0, 0, 3).clamp(0, 1).to(torch::kCPU);
  if (weighted) result.weights = blended.slice(0, 3).to(torch::kCPU).contiguous();
  if (channels == 1) out = out.mean(0, true);
  if (channels == 4) {
    const auto alpha =
        resize_bicubic(unit.slice(0, 3, 4).to(torch::kCPU), out.size(1), out.size(2));
    out = torch::cat({out, alpha.clamp(0, 1)}, 0);
  }
  result.image = out.contiguous();
  return result;
}

}  // namespace srkit
