#include "srkit/data/guide_synthesis.h"

#include <algorithm>

#include <opencv2/core.hpp>
#include <torch/torch.h>

#include "srkit/core/error.h"

namespace srkit {
namespace {

constexpr double kHeadThreshold = 0.1;  // T1 above this is head, below it background

double uniform(std::mt19937_64& rng, double low, double high) {
  return std::uniform_real_distribution<double>(low, high)(rng);
}

}  // namespace

ProtonDensityMap fit_proton_density_map(const torch::Tensor& t1) {
  // Tissue intensities: 3-means of a sample of the head's voxels.
  const auto values = t1.flatten().to(torch::kFloat);
  const auto head = values.masked_select(values > kHeadThreshold);
  if (head.numel() < 3) throw usage_error("a T1 image with no head to fit tissue classes to");
  const int64_t step = std::max<int64_t>(1, head.numel() / 60000);
  const auto sample = head.slice(0, 0, head.numel(), step).contiguous();
  cv::Mat points(static_cast<int>(sample.numel()), 1, CV_32F,
                 const_cast<float*>(sample.data_ptr<float>()));
  cv::Mat labels, centres;
  cv::setRNGSeed(1);
  cv::kmeans(points, 3, labels,
             cv::TermCriteria(cv::TermCriteria::EPS + cv::TermCriteria::COUNT, 100, 1e-5), 3,
             cv::KMEANS_PP_CENTERS, centres);
  ProtonDensityMap map;
  map.tissue_t1 = {centres.at<float>(0), centres.at<float>(1), centres.at<float>(2)};
  std::sort(map.tissue_t1.begin(), map.tissue_t1.end());  // CSF < grey < white matter
  return map;
}

torch::Tensor apply_proton_density_map(const ProtonDensityMap& map, const torch::Tensor& t1) {
  const std::vector<double> x{0.0, map.tissue_t1[0], map.tissue_t1[1], map.tissue_t1[2], 1.0};
  const std::vector<double> y{0.0, map.density[0], map.density[1], map.density[2],
                              map.density_at_brightest};
  auto out = torch::full_like(t1, y.back());
  for (size_t i = x.size() - 1; i-- > 0;) {
    const auto within = t1 < x[i + 1];
    const double width = x[i + 1] - x[i];
    const auto line = width > 0 ? y[i] + (t1 - x[i]) * ((y[i + 1] - y[i]) / width)
                                : torch::full_like(t1, y[i + 1]);
    out = torch::where(within, line, out);
  }
  return out.clamp(0, 1);
}

torch::Tensor synthesize_proton_density(const torch::Tensor& t1_volume) {
  return apply_proton_density_map(fit_proton_density_map(t1_volume), t1_volume);
}

GuideRandomizer::GuideRandomizer(GuidedTask task, const std::vector<torch::Tensor>& targets)
    : task_(task) {
  if (targets.empty()) throw usage_error("no training targets to synthesise guides from");
  if (task == GuidedTask::kPan) {
    band_peaks_.assign(static_cast<size_t>(targets.front().size(0)), 0.0);
    for (const auto& target : targets) {
      const auto peaks = target.flatten(1).amax(1).to(torch::kDouble).contiguous();
      for (size_t b = 0; b < band_peaks_.size(); ++b) {
        band_peaks_[b] = std::max(band_peaks_[b], peaks[static_cast<int64_t>(b)].item<double>());
      }
    }
  } else if (task == GuidedTask::kMri) {
    std::vector<torch::Tensor> flat;
    for (const auto& target : targets) flat.push_back(target.flatten());
    map_ = fit_proton_density_map(torch::cat(flat));
  } else {
    throw usage_error("the " + guided_task_info(task).name +
                      " task trains on real guides: there is no synthesis to randomise");
  }
}

torch::Tensor GuideRandomizer::draw(const torch::Tensor& target_patch,
                                    std::mt19937_64& rng) const {
  if (task_ == GuidedTask::kPan) {
    std::exponential_distribution<double> exponential(1.0);  // normalised: Dirichlet(1, ..., 1)
    std::vector<double> weights;
    double peak = 0;
    for (double band_peak : band_peaks_) {
      weights.push_back(exponential(rng));
      peak += weights.back() * band_peak;
    }
    const auto w = (torch::tensor(weights, torch::kDouble) / (peak > 0 ? peak : 1.0))
                       .to(target_patch.scalar_type());
    return (target_patch * w.view({-1, 1, 1})).sum(0, true).clamp(0, 1);
  }
  ProtonDensityMap map = map_;
  map.density = {uniform(rng, 0.85, 1.0), uniform(rng, 0.70, 0.95), uniform(rng, 0.60, 0.85)};
  map.density_at_brightest = uniform(rng, 0.5, 1.0);
  const double noise = uniform(rng, 0.0, 0.02);
  std::normal_distribution<float> normal(0.0F, 1.0F);
  auto jitter = torch::empty(target_patch.sizes(), torch::kFloat);
  auto* values = jitter.data_ptr<float>();
  for (int64_t i = 0; i < jitter.numel(); ++i) values[i] = static_cast<float>(noise) * normal(rng);
  const auto guide = apply_proton_density_map(map, target_patch);
  return (guide + jitter.to(guide.scalar_type()) * (target_patch > kHeadThreshold)).clamp(0, 1);
}

}  // namespace srkit
