#include "srkit/metrics/guided_metrics.h"

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/metrics/depth.h"
#include "srkit/metrics/metric.h"
#include "srkit/metrics/pansharpening.h"

namespace srkit {

NamedValues guided_metrics(GuidedTask task, const torch::Tensor& estimate,
                           const torch::Tensor& reference, int64_t scale, int64_t depth_crop) {
  if (estimate.sizes() != reference.sizes()) {
    throw usage_error("the result and its reference differ in shape");
  }
  const MetricOptions all_channels{.crop_border = 0, .y_channel = false};
  switch (task) {
    case GuidedTask::kDepth: {
      const auto error = depth_rmse(estimate[0], reference[0], depth_crop);
      return {{"rmse", error.rmse},
              {"compared", static_cast<double>(error.compared)},
              {"unknown", static_cast<double>(error.unknown)}};
    }
    case GuidedTask::kPan:
      return {{"psnr", psnr(estimate, reference, all_channels)},
              {"sam", sam_degrees(estimate, reference)},
              {"ergas", ergas(estimate, reference, static_cast<double>(scale))},
              {"q2n", q2n(estimate, reference)},
              {"scc", scc(estimate, reference)}};
    case GuidedTask::kMri:
      return {{"psnr", psnr(estimate, reference, all_channels)},
              {"ssim", ssim(estimate, reference, all_channels)}};
  }
  return {};
}

NamedValues mean_guided_metrics(const std::vector<NamedValues>& results) {
  if (results.empty()) return {};
  NamedValues mean = results.front();
  for (size_t m = 0; m < mean.size(); ++m) {
    double total = 0;
    for (const auto& result : results) total += result.at(m).second;
    const bool counted = mean[m].first == "compared" || mean[m].first == "unknown";
    mean[m].second = counted ? total : total / static_cast<double>(results.size());
  }
  return mean;
}

bool higher_is_better(const std::string& metric) {
  return metric == "psnr" || metric == "ssim" || metric == "q2n" || metric == "scc";
}

}  // namespace srkit
