// A LoRA adapter on disk (nn/lora.h), apart from the model it adapts: a .srkit file in the layout
// of models/model_archive.h whose description holds "adapter" (rank, alpha, targets and the
// adapted layers, in order) and "base" (what it was made on, as the caller describes it: the base
// model's name and sha256), and whose weights are the adapter's factors (layers.<k>.down/.up).
//
//   srkit::save_adapter_file("runs/dpo/dpo.lora.srkit", dpo, {{"name", "flow_x4_mse"}});
//   srkit::Lora dpo = srkit::load_adapter_file("runs/dpo/dpo.lora.srkit", *network);
#pragma once

#include <filesystem>

#include <torch/nn/module.h>
#include <nlohmann/json.hpp>

#include "srkit/nn/lora.h"

namespace srkit {

// Atomic; an output Error naming `path` when it cannot be written.
void save_adapter_file(const std::filesystem::path& path, Lora& adapter,
                       const nlohmann::json& base);

// The adapter rebuilt on `network`'s layers with the stored factors. A setup Error naming the
// file when it is not an adapter file, is damaged, or adapts layers `network` does not have
// (another architecture or width than the one it was made on).
Lora load_adapter_file(const std::filesystem::path& path, torch::nn::Module& network);

// The stored description's "base" (what the adapter was made on), for checking before loading.
nlohmann::json adapter_file_base(const std::filesystem::path& path);

}  // namespace srkit
