#include "srkit/engine/throughput.h"

#include <algorithm>
#include <chrono>
#include <functional>

#include <torch/cuda.h>
#include <torch/torch.h>

namespace srkit {
namespace {

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index() < 0 ? 0 : device.index());
}

Timing time_it(const std::function<void()>& work, double gflop, const torch::Device& device,
               int warmup, int repeats) {
  torch::InferenceMode inference;
  for (int i = 0; i < warmup; ++i) work();
  synchronize(device);
  Timing timing;
  timing.gflop = gflop;
  for (int i = 0; i < std::max(1, repeats); ++i) {
    const auto start = std::chrono::steady_clock::now();
    work();
    synchronize(device);
    timing.seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  auto sorted = timing.seconds;
  std::sort(sorted.begin(), sorted.end());
  timing.median_seconds = sorted[sorted.size() / 2];
  return timing;
}

}  // namespace

Timing measure_conv_peak(const torch::Device& device, bool channels_last, int warmup, int repeats) {
  const int64_t c = 64, side = 256;
  const auto options = torch::TensorOptions().device(device);
  const auto format =
      channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  const auto x = torch::randn({1, c, side, side}, options).contiguous(format);
  const auto w = torch::randn({c, c, 3, 3}, options).contiguous(format);
  const auto b = torch::randn({c}, options);
  const double gflop = 2.0 * c * c * 9 * side * side / 1e9;
  return time_it([&] { torch::conv2d(x, w, b, 1, 1); }, gflop, device, warmup, repeats);
}

Timing measure_gemm_peak(const torch::Device& device, int warmup, int repeats) {
  const int64_t n = 2048;
  const auto options = torch::TensorOptions().device(device);
  const auto a = torch::randn({n, n}, options), b = torch::randn({n, n}, options);
  const double gflop = 2.0 * n * n * n / 1e9;
  return time_it([&] { torch::mm(a, b); }, gflop, device, warmup, repeats);
}

Timing measure_model(Model& model, int64_t size, const torch::Device& device, int warmup,
                     int repeats) {
  const auto& card = model.card();
  const auto x =
      torch::rand({1, card.in_channels, size, size}, torch::TensorOptions().device(device));
  const double gflop = card.flops_per_input_pixel * static_cast<double>(size * size) / 1e9;
  return time_it([&] { model.forward(x); }, gflop, device, warmup, repeats);
}

}  // namespace srkit
