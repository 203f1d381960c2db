#include "srkit/models/model.h"

#include "srkit/core/error.h"

namespace srkit {

nlohmann::json to_json(const ModelCard& card) {
  return {{"name", card.name},
          {"task", card.task},
          {"architecture", card.architecture},
          {"scale", card.scale},
          {"in_channels", card.in_channels},
          {"out_channels", card.out_channels},
          {"size_multiple", card.size_multiple},
          {"receptive_radius", card.receptive_radius},
          {"parameters", card.parameters},
          {"flops_per_input_pixel", card.flops_per_input_pixel},
          {"peak_bytes_per_input_pixel", card.peak_bytes_per_input_pixel},
          {"value_range", card.value_range},
          {"global_context", card.global_context},
          {"inputs", card.inputs},
          {"tasks", card.tasks},
          {"licence", card.licence},
          {"source", card.source},
          {"sha256", card.sha256},
          {"adapters", card.adapters}};
}

void Model::set_precision(torch::Dtype dtype) {
  if (dtype == torch::kFloat) return;
  throw usage_error("{{precision}} " + std::string(c10::toString(dtype)) + ": model " +
                    card().name + " runs in float32 only");
}

torch::Tensor Model::forward(const torch::Tensor&) {
  std::string needs;
  for (const auto& name : card().inputs) needs += (needs.empty() ? "" : ", ") + name;
  throw usage_error("{{model}} " + card().name + " needs more than an image (" +
                    (needs.empty() ? std::string("a task") : needs) +
                    "): run it with `srkit guide`");
}

torch::Tensor Model::run(const ModelInput& input, ModelDiagnostics*) {
  if (!input.extras.empty() || !input.task.empty()) {
    throw usage_error("{{model}} " + card().name +
                      " takes one image; it has no extra inputs or tasks");
  }
  return forward(input.image);
}

nlohmann::json model_identity(const ModelCard& card) {
  return {{"name", card.name}, {"scale", card.scale}, {"sha256", card.sha256}};
}

nlohmann::json command_identity(const std::string& command) { return {{"command", command}}; }

}  // namespace srkit
