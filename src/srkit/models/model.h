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
  int64_t scale = 1;  // 0: any integer scale, set by the extra inputs' grid (guided models)
  int64_t in_channels = 3;
  int64_t out_channels = 3;
  int64_t size_multiple = 1;    // input sides must be a multiple of this
  double receptive_radius = 0;  // input pixels; the tiler pads tiles by at least this much
  int64_t parameters = 0;
  double flops_per_input_pixel = 0;
  double peak_bytes_per_input_pixel = 0;  // float32 activations at once, used to size tiles
  double value_range = 1.0;               // the range the weights expect: 1 (0..1) or 255 (0..255)
  // Some output pixels depend on the whole input (squeeze-excitation's global means): tiles are
  // not independent, so the engine runs the whole image at once unless a tile size is forced.
  bool global_context = false;
  std::vector<std::string> inputs;  // named extra inputs it needs (ModelInput::extras)
  std::vector<std::string> tasks;   // the tasks a multi-task model was trained for
  std::string licence;
  std::string source;                         // where the weights come from (package@version)
  std::map<std::string, std::string> sha256;  // weight file -> digest
  // LoRA adapters merged into the weights (nn/lora.h), as the file lists them: [{name, rank,
  // alpha, targets, file}]; empty for most models.
  nlohmann::json adapters = nlohmann::json::array();
};

// One input of a model, by parts. Tensors are [N,C,H,W] on the model's device, values in [0,1].
struct ModelInput {
  torch::Tensor image;  // the low-resolution image (a guided model's target)
  // Named extra inputs on the output grid, as the card lists them: "guide", modality maps,
  // structure conditions.
  std::map<std::string, torch::Tensor> extras;
  std::string task;   // for multi-task models: one of the card's tasks
  uint64_t seed = 0;  // for samplers: which sample
  int64_t steps = 0;  // for samplers: network evaluations; 0 = the model's default
  // Where `image` lies in the whole input, in input pixels (a tile's window): samplers key their
  // noise on whole-image coordinates so that tiles reproduce the whole-image sample.
  int64_t top = 0, left = 0;
};

// What a model may report of a run besides its output, by name (a routed model's expert choices).
using ModelDiagnostics = std::map<std::string, torch::Tensor>;

nlohmann::json to_json(const ModelCard& card);

// What identifies a model's results (a calibration file records it): name, scale and the sha256
// of its weight files; or, for an external program, its command line.
nlohmann::json model_identity(const ModelCard& card);
nlohmann::json command_identity(const std::string& command);

class Model {
 public:
  virtual ~Model() = default;
  virtual const ModelCard& card() const = 0;

  // Moves the weights to the device and picks the memory layout; call before running.
  virtual void prepare(const torch::Device& device, bool channels_last) = 0;

  // The arithmetic's type: float32 (every model) or bfloat16 (models that offer it, where the
  // hardware runs it fast: core/runtime.h). A usage Error for a type the model does not offer.
  virtual void set_precision(torch::Dtype dtype);

  // A single-image model: [N, in_channels, H, W] in [0,1] -> [N, out_channels, H*scale,
  // W*scale], nominally in [0,1] but not clamped (the engine clamps once, after blending tiles).
  // Models that need more than an image (card().inputs, tasks) refuse it with a usage Error.
  virtual torch::Tensor forward(const torch::Tensor& input);

  // Any model: the input by parts. By default the image through forward(); a usage Error when
  // the input carries extras or a task the model does not take. `diagnostics`, when given,
  // receives what the model reports of the run.
  virtual torch::Tensor run(const ModelInput& input, ModelDiagnostics* diagnostics = nullptr);
};

// Any upscaler as a function: [C,H,W] in [0,1] -> [C, H*scale, W*scale] in [0,1] on the CPU. A
// model run by the engine, an external program (engine/external_program.h) or a caller's own
// code; what conformal calibration and scoring take, since they only see inputs and outputs.
using UpscaleFn = std::function<torch::Tensor(const torch::Tensor& lr)>;

}  // namespace srkit
