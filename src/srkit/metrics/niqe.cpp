#include "srkit/metrics/niqe.h"

#include <fstream>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "srkit/core/error.h"
#include "srkit/core/resource_paths.h"
#include "srkit/io/atomic_file.h"
#include "srkit/ops/color.h"
#include "srkit/ops/resize.h"

namespace srkit {
namespace {

constexpr int64_t kFeatures = 36;
const auto kF64 = torch::TensorOptions().dtype(torch::kFloat64);

// The local mean and deviation of NIQE's MSCN transform: a 7x7 Gaussian window, sigma 7/6,
// normalised, the image extended by its edge pixels. Input and outputs [H,W] float64.
std::pair<torch::Tensor, torch::Tensor> local_mean_and_deviation(const torch::Tensor& image) {
  const auto x = torch::arange(-3, 4, kF64);
  auto g = torch::exp(-x.square() / (2.0 * (7.0 / 6.0) * (7.0 / 6.0)));
  g = torch::outer(g, g);
  g = (g / g.sum()).view({1, 1, 7, 7});
  const auto filter = [&g](const torch::Tensor& plane) {
    const auto padded =
        torch::replication_pad2d(plane.view({1, 1, plane.size(0), plane.size(1)}), {3, 3, 3, 3});
    return torch::conv2d(padded, g).view({plane.size(0), plane.size(1)});
  };
  const auto mean = filter(image);
  const auto deviation = (filter(image.square()) - mean.square()).abs().sqrt();
  return {mean, deviation};
}

// [H,W] -> [N, p*p]: the complete p x p patches, row by row.
torch::Tensor patches(const torch::Tensor& plane, int64_t p) {
  const int64_t rows = plane.size(0) / p, cols = plane.size(1) / p;
  return plane.slice(0, 0, rows * p)
      .slice(1, 0, cols * p)
      .reshape({rows, p, cols, p})
      .permute({0, 2, 1, 3})
      .reshape({rows * cols, p * p});
}

// The shape parameter alpha in [0.2, 10] (step 0.001) whose ratio(alpha) is nearest to each value,
// by exhaustive search over the grid, as the moment-matching estimators of BRISQUE and NIQE do.
torch::Tensor nearest_shape(const torch::Tensor& values,
                            const std::function<torch::Tensor(const torch::Tensor&)>& ratio) {
  static const auto grid = torch::arange(0.2, 10.0 + 5e-4, 0.001, kF64);
  const auto table = ratio(grid);
  std::vector<torch::Tensor> parts;
  for (const auto& chunk : values.split(256)) {
    parts.push_back(grid.index({(chunk.unsqueeze(1) - table.unsqueeze(0)).abs().argmin(1)}));
  }
  return torch::cat(parts);
}

// Gamma(1/a) Gamma(3/a) / Gamma(2/a)^2: E[x^2] / E[|x|]^2 of a generalised Gaussian of shape a.
torch::Tensor ggd_ratio(const torch::Tensor& a) {
  return torch::exp(torch::lgamma(1.0 / a) + torch::lgamma(3.0 / a) - 2.0 * torch::lgamma(2.0 / a));
}

}  // namespace

torch::Tensor fit_ggd(const torch::Tensor& x) {
  const auto variance = x.square().mean(1);
  const auto alpha = nearest_shape(variance / x.abs().mean(1).square(), ggd_ratio);
  return torch::stack({alpha, variance}, 1);
}

torch::Tensor fit_aggd(const torch::Tensor& x) {
  const auto negative = (x < 0).to(torch::kFloat64), positive = (x > 0).to(torch::kFloat64);
  const auto left = (x.square() * negative).sum(1) / negative.sum(1);
  const auto right = (x.square() * positive).sum(1) / positive.sum(1);
  const auto gamma = (left / right).sqrt();
  const auto r = x.abs().mean(1).square() / x.square().mean(1);
  const auto normalised = r * (gamma.pow(3) + 1) * (gamma + 1) / (gamma.square() + 1).square();
  const auto alpha =
      nearest_shape(normalised, [](const torch::Tensor& a) { return 1.0 / ggd_ratio(a); });
  const auto mean = (right.sqrt() - left.sqrt()) *
                    torch::exp(torch::lgamma(2.0 / alpha) - torch::lgamma(1.0 / alpha)) *
                    torch::exp(0.5 * (torch::lgamma(1.0 / alpha) - torch::lgamma(3.0 / alpha)));
  return torch::stack({alpha, mean, left, right}, 1);
}

namespace {

// The 18 features of one scale's MSCN map: its GGD fit, then the AGGD fits of its products with
// the horizontal, vertical and two diagonal neighbours (circular shifts).
torch::Tensor scale_features(const torch::Tensor& mscn, int64_t p) {
  std::vector<torch::Tensor> parts{fit_ggd(patches(mscn, p))};
  const std::vector<std::pair<int64_t, int64_t>> shifts{{0, 1}, {1, 0}, {1, 1}, {-1, 1}};
  for (const auto& [dy, dx] : shifts) {
    parts.push_back(fit_aggd(patches(mscn * torch::roll(mscn, {dy, dx}, {0, 1}), p)));
  }
  return torch::cat(parts, 1);
}

torch::Tensor covariance(const torch::Tensor& features) {
  const auto centred = features - features.mean(0, true);
  return centred.t().mm(centred) / static_cast<double>(features.size(0) - 1);
}

}  // namespace

torch::Tensor niqe_luminance(const torch::Tensor& image) {
  TORCH_CHECK(image.dim() == 3, "niqe_luminance: expected [C,H,W]");
  return rgb_to_gray(image.to(torch::kFloat64) * 255.0);
}

torch::Tensor niqe_patch_features(const torch::Tensor& luminance, const NiqeOptions& options,
                                  bool sharp_only) {
  TORCH_CHECK(options.patch_size >= 8 && options.patch_size % 2 == 0,
              "niqe: the patch size must be even and at least 8");
  const int64_t p = options.patch_size;
  const auto image = luminance.to(torch::kFloat64)
                         .slice(0, 0, luminance.size(0) / p * p)
                         .slice(1, 0, luminance.size(1) / p * p);
  if (image.size(0) == 0 || image.size(1) == 0) return torch::empty({0, kFeatures}, kF64);
  const auto [mean, deviation] = local_mean_and_deviation(image);
  const auto half = resize_bicubic(image.unsqueeze(0), 0.5)[0];
  const auto [mean2, deviation2] = local_mean_and_deviation(half);
  auto features = torch::cat({scale_features((image - mean) / (deviation + 1), p),
                              scale_features((half - mean2) / (deviation2 + 1), p / 2)},
                             1);
  if (sharp_only) {
    const auto sharpness = patches(deviation, p).mean(1);
    features = features.index({sharpness > options.sharpness_threshold * sharpness.max()});
  }
  return features.index({torch::isfinite(features).all(1)});
}

NiqeModel fit_niqe(const std::vector<torch::Tensor>& images, const std::string& description,
                   const NiqeOptions& options) {
  std::vector<torch::Tensor> features;
  for (const auto& image : images) {
    auto luminance = niqe_luminance(image);
    const int64_t short_side = std::min(luminance.size(0), luminance.size(1));
    if (options.fit_max_short_side > 0 && short_side > options.fit_max_short_side) {
      const int64_t k = (short_side + options.fit_max_short_side - 1) / options.fit_max_short_side;
      luminance = torch::avg_pool2d(luminance.unsqueeze(0), k)[0];
    }
    features.push_back(niqe_patch_features(luminance, options, true));
  }
  const auto all = features.empty() ? torch::empty({0, kFeatures}, kF64) : torch::cat(features);
  if (all.size(0) <= kFeatures) {
    throw input_error(description,
                      "gives " + std::to_string(all.size(0)) + " sharp patches, too few to fit " +
                          std::to_string(kFeatures) + " features",
                      "fit on more or larger photos");
  }
  return {all.mean(0), covariance(all), all.size(0), description};
}

double niqe(const torch::Tensor& image, const NiqeModel& model, const std::string& source,
            const NiqeOptions& options) {
  const auto features = niqe_patch_features(niqe_luminance(image), options, false);
  if (features.size(0) < 2) {
    throw input_error(source,
                      "is " + std::to_string(image.size(2)) + "x" + std::to_string(image.size(1)) +
                          ": NIQE needs at least two " + std::to_string(options.patch_size) + "x" +
                          std::to_string(options.patch_size) + " patches that are not flat",
                      "score images of at least " + std::to_string(2 * options.patch_size) + "x" +
                          std::to_string(options.patch_size) + " pixels");
  }
  const auto difference = (model.mean - features.mean(0)).unsqueeze(1);
  const auto pooled = (model.covariance + covariance(features)) / 2.0;
  return std::sqrt(difference.t().mm(torch::linalg_pinv(pooled)).mm(difference).item<double>());
}

NiqeModel read_niqe_model(const std::filesystem::path& path) {
  const auto bad = [&path](const std::string& problem) {
    return setup_error(path.string() + ": " + problem +
                       " (run scripts/setup.sh, or give a model written by NIQE fitting)");
  };
  std::ifstream in(path);
  if (!in) throw bad("cannot be read");
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(in);
    const auto mean = root.at("mean").get<std::vector<double>>();
    const auto rows = root.at("covariance").get<std::vector<std::vector<double>>>();
    if (mean.size() != kFeatures || rows.size() != kFeatures) throw bad("is not a NIQE model");
    auto cov = torch::empty({kFeatures, kFeatures}, kF64);
    for (int64_t i = 0; i < kFeatures; ++i) {
      if (rows[i].size() != kFeatures) throw bad("is not a NIQE model");
      cov[i] = torch::tensor(rows[i], kF64);
    }
    return {torch::tensor(mean, kF64), cov, root.value("patches", int64_t{0}),
            root.value("description", std::string())};
  } catch (const nlohmann::json::exception& e) {
    throw bad(std::string("is not a NIQE model: ") + e.what());
  }
}

void write_niqe_model(const std::filesystem::path& path, const NiqeModel& model) {
  const auto mean = model.mean.contiguous();
  const auto cov = model.covariance.contiguous();
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t i = 0; i < kFeatures; ++i) {
    rows.push_back(
        std::vector<double>(cov[i].data_ptr<double>(), cov[i].data_ptr<double>() + kFeatures));
  }
  const nlohmann::json root{
      {"format", "srkit NIQE pristine model"},
      {"description", model.description},
      {"patches", model.patches},
      {"mean", std::vector<double>(mean.data_ptr<double>(), mean.data_ptr<double>() + kFeatures)},
      {"covariance", rows}};
  AtomicOutput out(path);
  {
    std::ofstream file(out.temp_path());
    if (!file) {
      throw output_error(path.string(), "cannot be created",
                         "check that its folder exists and is writable");
    }
    file << root.dump(1) << '\n';
    if (!file.flush()) throw output_error(path.string(), "could not be written", "check the disk");
  }
  out.commit();
}

std::filesystem::path default_niqe_model_path() { return models_root() / "niqe" / "pristine.json"; }

}  // namespace srkit
