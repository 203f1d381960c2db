#include "srkit/core/guided_task.h"

#include "srkit/core/error.h"

namespace srkit {

const GuidedTaskInfo& guided_task_info(GuidedTask task) {
  // Channels as MAG-Net's task heads (methods.md section 4): depth 1 + RGB guide, pansharpening 4
  // bands + PAN, MR 1 contrast + another contrast.
  static const GuidedTaskInfo kInfo[kGuidedTaskCount] = {
      {"depth", "Depth map super-resolution guided by a color photograph", 1, 3, {4, 8, 16}},
      {"pan", "Pansharpening of multispectral satellite imagery with a panchromatic band", 4, 1,
       {4}},
      {"mri", "Magnetic resonance image super-resolution guided by another contrast", 1, 1,
       {2, 4}},
  };
  return kInfo[static_cast<int>(task)];
}

GuidedTask parse_guided_task(const std::string& name) {
  for (int t = 0; t < kGuidedTaskCount; ++t) {
    if (guided_task_info(static_cast<GuidedTask>(t)).name == name) {
      return static_cast<GuidedTask>(t);
    }
  }
  throw usage_error("unknown guided task '" + name + "': choose depth, pan or mri");
}

}  // namespace srkit
