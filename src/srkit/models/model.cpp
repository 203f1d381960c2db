#include "srkit/models/model.h"

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
          {"licence", card.licence},
          {"source", card.source},
          {"sha256", card.sha256}};
}

nlohmann::json model_identity(const ModelCard& card) {
  return {{"name", card.name}, {"scale", card.scale}, {"sha256", card.sha256}};
}

nlohmann::json command_identity(const std::string& command) { return {{"command", command}}; }

}  // namespace srkit
