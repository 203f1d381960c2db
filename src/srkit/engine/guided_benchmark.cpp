#include "srkit/engine/guided_benchmark.h"

#include <map>

#include <torch/torch.h>

#include "srkit/core/error.h"

namespace srkit {
namespace {

std::string dataset_of(const std::string& scene) { return scene.substr(0, scene.find('/')); }

}  // namespace

BenchmarkResult run_guided_benchmark(GuidedTask task, const std::vector<BenchmarkScene>& scenes,
                                     int64_t scale, const GuidedUpscaler& upscaler,
                                     MriDownsampling mri, const ProgressFn& progress) {
  BenchmarkResult result;
  std::vector<std::string> order;
  std::map<std::string, std::vector<NamedValues>> by_dataset;
  for (size_t i = 0; i < scenes.size(); ++i) {
    if (!report(progress, static_cast<int64_t>(i), static_cast<int64_t>(scenes.size()))) {
      throw Error(ErrorKind::kCancelled, "interrupted");
    }
    const auto& scene = scenes[i];
    const auto target = crop_to_multiple(scene.target, scale);
    const auto guide = crop_to_multiple(scene.guide, scale);
    if (guide.size(1) != target.size(1) || guide.size(2) != target.size(2)) {
      throw usage_error(scene.name + ": the guide is not on the target's grid");
    }
    const auto lr = degrade_guided_target(task, target, scale, mri);
    const auto estimate = upscaler(lr, guide);
    result.scenes.push_back({scene.name, guided_metrics(task, estimate, target, scale)});
  }
  report(progress, static_cast<int64_t>(scenes.size()), static_cast<int64_t>(scenes.size()));
  for (const auto& row : result.scenes) {
    const auto dataset = dataset_of(row.name);
    if (!by_dataset.count(dataset)) order.push_back(dataset);
    by_dataset[dataset].push_back(row.metrics);
  }
  for (const auto& dataset : order) {
    result.dataset_means.push_back({"mean " + dataset, mean_guided_metrics(by_dataset[dataset])});
  }
  return result;
}

}  // namespace srkit
