// The one interface every super-resolution model in srkit implements, and its model card.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <torch/types.h>
#include <nlohmann/json.hpp>

namespace srkit {

// What a user (and the tiled engine) needs to know about a model before running it.
struct ModelCard {
  std::string name;
  std::string task = "sr";  // sr / guided / multimodal / generative
  std::string architecture;
  int64_t scale = 1;
  int64_t in_channels = 3;
  int64_t out_channels = 3;
  int64_t size_multiple = 1;    // input sides must be a multiple of this
  double receptive_radius = 0;  // input pixels; the tiler pads tiles by at least this much
  int64_t parameters = 0;
  double flops_per_input_pixel = 0;
  double peak_bytes_per_input_pixel = 0;  // float32 activations at once, used to size tiles
  double value_range = 1.0;               // the range the weights expect: 1 (0..1) or 255 (0..255)
  std::string licence;
  std::string source;                         // where the weights come from (package@version)
  std::map<std::string, std::string> sha256;  // weight file -> digest
};

nlohmann::json to_json(const ModelCard& card);

// What identifies a model's results (a calibration file records it): name, scale and the sha256
// of its weight files; or, for an external program, its command line.
nlohmann::json model_identity(const ModelCard& card);
nlohmann::json command_identity(const std::string& command);

class Model {
 public:
  virtual ~Model() = default;
  virtual const ModelCard& card() const = 0;

  // Moves the weights to the device and picks the memory layout; call before forward.
  virtual void prepare(const torch::Device& device, bool channels_last) = 0;

  // [N, in_channels, H, W] float in [0,1] -> [N, out_channels, H*scale, W*scale], nominally in
  // [0,1] but not clamped (the engine clamps once, after blending tiles).
  virtual torch::Tensor forward(const torch::Tensor& input) = 0;
};

// Any upscaler as a function: [C,H,W] in [0,1] -> [C, H*scale, W*scale] in [0,1] on the CPU. A
// model run by the engine, an external program (engine/external_program.h) or a caller's own
// code; what conformal calibration and scoring take, since they only see inputs and outputs.
using UpscaleFn = std::function<torch::Tensor(const torch::Tensor& lr)>;

}  // namespace srkit
