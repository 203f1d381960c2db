// The three guided super-resolution tasks srkit handles (seed 004, MAG-Net): what each upscales,
// what guides it, and the plain-language description a model's prompt is built from.
//
//   auto task = srkit::parse_guided_task("pan");     // throws a usage Error naming the choices
//   srkit::guided_task_info(task).guide_channels;    // 1 (the panchromatic band)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace srkit {

enum class GuidedTask { kDepth = 0, kPan = 1, kMri = 2 };
constexpr int kGuidedTaskCount = 3;

struct GuidedTaskInfo {
  std::string name;             // "depth", "pan", "mri": the --task value
  std::string description;      // the task's text prompt
  int64_t target_channels = 1;  // channels MAG-Net's head for this task produces
  int64_t guide_channels = 1;   // channels of the guide MAG-Net expects
  std::vector<int64_t> scales;  // the benchmark protocol's scales
};

const GuidedTaskInfo& guided_task_info(GuidedTask task);
GuidedTask parse_guided_task(const std::string& name);

}  // namespace srkit
