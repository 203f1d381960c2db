// The teacher of seed 002's distillation as a file: a flow model conditioned on the structure of
// the image (nn/structure_adapter.h's ConditionedFlowUNet; ops/structure_conditions.h), which a
// flow run with a `structure` section trains and writes (architecture "flow_unet_conditioned": it
// needs the ground truth's structure, so `srkit upscale` refuses it), or an unconditioned flow
// model (the SFT model: the distillation's "no condition" arm).
//
//   FlowTeacher teacher = read_flow_teacher(config.distill.teacher, config, "distill.teacher");
//   auto v = teacher.conditioned ? teacher.conditioned->forward(x_s, c, s, structure)
//                                : teacher.network->forward(x_s, c, s);
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "srkit/models/flow_model.h"
#include "srkit/nn/structure_adapter.h"
#include "srkit/ops/structure_conditions.h"
#include "srkit/train/train_config.h"

namespace srkit {

struct FlowTeacher {
  FlowUNet network{nullptr};                 // the velocity network (in `conditioned`, if any)
  ConditionedFlowUNet conditioned{nullptr};  // with its adapter; null for a plain flow model
  FlowModelSettings settings;
  StructureConditioning conditioning;  // what the adapter takes (when conditioned)
  nlohmann::json identity;             // {"name", "file", "sha256"}
};

// The structure adapter's options for config's `structure` section on `network`.
StructureAdapterOptions structure_adapter_options(const TrainConfig& config,
                                                  const FlowUNetImpl& network);

// Writes a conditioned teacher (atomically). `about`: "name", "steps", ...
void save_conditioned_flow_teacher(const std::filesystem::path& path,
                                   ConditionedFlowUNetImpl& teacher,
                                   const FlowModelSettings& settings,
                                   const StructureConditioning& conditioning,
                                   const nlohmann::json& about);

// A flow model file or a conditioned teacher, in eval mode without gradients. A usage Error
// naming the config's `key` when the file is neither or its scale is not model.scale; setup
// Errors naming the file when it is missing or damaged.
FlowTeacher read_flow_teacher(const std::filesystem::path& path, const TrainConfig& config,
                              const std::string& key);

}  // namespace srkit
