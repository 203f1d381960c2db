#include "srkit/data/realesrgan_degradation.h"

#include <cmath>
#include <random>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>
#include <opencv2/imgcodecs.hpp>

namespace srkit {
namespace {

constexpr double kPi = 3.14159265358979323846;

double uniform(std::mt19937_64& rng, double low, double high) {
  return std::uniform_real_distribution<double>(low, high)(rng);
}

bool chance(std::mt19937_64& rng, double probability) { return uniform(rng, 0, 1) < probability; }

const char* kModes[] = {"area", "bilinear", "bicubic"};

torch::Tensor resize_to(const torch::Tensor& image, int64_t h, int64_t w, int mode) {
  namespace F = torch::nn::functional;
  auto options = F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w});
  if (mode == 0) {
    options.mode(torch::kArea);
  } else if (mode == 1) {
    options.mode(torch::kBilinear).align_corners(false);
  } else {
    options.mode(torch::kBicubic).align_corners(false);
  }
  return F::interpolate(image.unsqueeze(0), options).squeeze(0).clamp(0, 1);
}

// Gaussian (sigma on 0..255) or Poisson noise, per channel or one gray plane for all.
torch::Tensor add_noise(const torch::Tensor& image, const DegradationStage& stage,
                        std::mt19937_64& rng, at::Generator& generator, nlohmann::json& steps) {
  const bool gray = chance(rng, stage.gray_noise_probability);
  const auto plane_shape =
      gray ? std::vector<int64_t>{1, image.size(1), image.size(2)} : image.sizes().vec();
  torch::Tensor noise;
  if (chance(rng, stage.gaussian_noise_probability)) {
    const double sigma = uniform(rng, stage.noise_sigma_min, stage.noise_sigma_max) / 255.0;
    noise = at::normal(0.0, sigma, plane_shape, generator, image.options());
    steps.push_back({{"step", "gaussian noise"}, {"sigma_255", sigma * 255}, {"gray", gray}});
  } else {
    const double scale = uniform(rng, stage.poisson_scale_min, stage.poisson_scale_max);
    // Photon counts at 8-bit resolution; the noise is their deviation, scaled.
    const auto source = gray ? image.mean(0, true) : image;
    const double levels = 256.0;
    const auto counts = at::poisson(source * levels, generator) / levels;
    noise = (counts - source) * scale;
    steps.push_back({{"step", "poisson noise"}, {"scale", scale}, {"gray", gray}});
  }
  return (image + noise).clamp(0, 1);
}

// One blur / resize / noise / JPEG round. The resize factor refers to base_h x base_w: the HR size
// in the first round, the target size in the second (as Real-ESRGAN does).
torch::Tensor apply_stage(torch::Tensor image, const DegradationStage& stage, std::mt19937_64& rng,
                          at::Generator& generator, int64_t base_h, int64_t base_w,
                          nlohmann::json& steps) {
  if (chance(rng, stage.blur_probability)) {
    const auto drawn = random_blur_kernel(rng, stage.blur);
    image = filter2d(image, drawn.kernel).clamp(0, 1);
    steps.push_back({{"step", "blur"}, {"kernel", drawn.description}});
  }
  const auto& p = stage.resize_probability;
  const int direction = std::discrete_distribution<int>(p.begin(), p.end())(rng);
  const double factor = direction == 0   ? uniform(rng, 1.0, stage.resize_max)
                        : direction == 1 ? uniform(rng, stage.resize_min, 1.0)
                                         : 1.0;
  const int mode = std::uniform_int_distribution<int>(0, 2)(rng);
  const int64_t h = std::max<int64_t>(1, std::llround(base_h * factor));
  const int64_t w = std::max<int64_t>(1, std::llround(base_w * factor));
  image = resize_to(image, h, w, mode);
  steps.push_back({{"step", "resize"}, {"factor", factor}, {"mode", kModes[mode]}});
  image = add_noise(image, stage, rng, generator, steps);
  const int quality =
      std::uniform_int_distribution<int>(stage.jpeg_quality_min, stage.jpeg_quality_max)(rng);
  steps.push_back({{"step", "jpeg"}, {"quality", quality}});
  return jpeg_roundtrip(image, quality);
}

}  // namespace

DegradationStage realesrgan_second_stage() {
  DegradationStage s;
  s.blur.sigma_max = 1.5;
  s.blur_probability = 0.8;
  s.resize_probability = {0.3, 0.4, 0.3};
  s.resize_min = 0.3;
  s.resize_max = 1.2;
  s.noise_sigma_max = 25;
  s.poisson_scale_max = 2.5;
  return s;
}

torch::Tensor jpeg_roundtrip(const torch::Tensor& image, int quality) {
  const auto hwc = image.permute({1, 2, 0})
                       .flip({2})  // RGB -> BGR
                       .mul(255.0)
                       .round()
                       .clamp(0, 255)
                       .to(torch::kUInt8)
                       .contiguous();
  const int channels = static_cast<int>(hwc.size(2));
  const cv::Mat mat(static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)),
                    CV_MAKETYPE(CV_8U, channels), hwc.data_ptr());
  std::vector<uchar> bytes;
  cv::imencode(".jpg", mat, bytes, {cv::IMWRITE_JPEG_QUALITY, quality});
  const cv::Mat decoded =
      cv::imdecode(bytes, channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
  auto out = torch::from_blob(decoded.data, {decoded.rows, decoded.cols, decoded.channels()},
                              torch::kUInt8)
                 .clone();
  return out.flip({2}).permute({2, 0, 1}).to(torch::kFloat).div(255.0).contiguous();
}

torch::Tensor realesrgan_degrade(const torch::Tensor& hr, int64_t scale, uint64_t seed,
                                 const RealEsrganSettings& settings, nlohmann::json* record) {
  TORCH_CHECK(hr.dim() == 3 && hr.size(0) == 3, "the Real-ESRGAN pipeline expects [3,H,W] RGB");
  TORCH_CHECK(scale >= 1, "scale must be >= 1");
  std::mt19937_64 rng(seed);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed ^ 0x9E3779B97F4A7C15ULL);
  nlohmann::json steps = nlohmann::json::array();
  const int64_t h = hr.size(1), w = hr.size(2);
  auto image =
      apply_stage(hr.to(torch::kFloat).contiguous(), settings.first, rng, generator, h, w, steps);
  image = apply_stage(image, settings.second, rng, generator, h / scale, w / scale, steps);
  const int64_t out_h = h / scale, out_w = w / scale;
  torch::Tensor sinc;
  if (chance(rng, settings.final_sinc_probability)) {
    const int64_t size = 2 * std::uniform_int_distribution<int64_t>(3, 10)(rng) + 1;
    const double omega = uniform(rng, kPi / 3, kPi);
    sinc = sinc_kernel(size, omega);
  }
  const int mode = std::uniform_int_distribution<int>(0, 2)(rng);
  const auto resize_and_sinc = [&](torch::Tensor x) {
    x = resize_to(x, out_h, out_w, mode);
    steps.push_back({{"step", "resize to target"}, {"mode", kModes[mode]}});
    if (!sinc.defined()) return x;
    steps.push_back({{"step", "final sinc"}, {"size", sinc.size(0)}});
    return filter2d(x, sinc).clamp(0, 1);
  };
  const int quality = std::uniform_int_distribution<int>(settings.second.jpeg_quality_min,
                                                         settings.second.jpeg_quality_max)(rng);
  const auto jpeg = [&](const torch::Tensor& x) {
    steps.push_back({{"step", "final jpeg"}, {"quality", quality}});
    return jpeg_roundtrip(x, quality);
  };
  image = chance(rng, 0.5) ? jpeg(resize_and_sinc(image)) : resize_and_sinc(jpeg(image));
  if (record) *record = {{"seed", seed}, {"scale", scale}, {"steps", steps}};
  return (image.clamp(0, 1) * 255.0).round() / 255.0;
}

torch::Tensor realesrgan_degrade(const torch::Tensor& hr, int64_t scale, uint64_t seed) {
  static const RealEsrganSettings standard;
  return realesrgan_degrade(hr, scale, seed, standard);
}

}  // namespace srkit
