// Integrating a rectified flow from noise (s = 1) to an image (s = 0): x_s = (1 - s) x + s e, so
// dx/ds = v = e - x, and a sampler steps x along -v. Euler takes one velocity per step; Heun (the
// trapezoid rule) two, except on the last step to s = 0, where it ends with Euler as EDM does.
// The velocity is the caller's: a network over a whole image, or over it tile by tile.
//
//   auto x = srkit::sample_flow(noise, velocity, {FlowSolver::kHeun, 28});
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/types.h>

namespace srkit {

enum class FlowSolver { kEuler, kHeun };

// "euler" / "heun"; a usage Error naming the value otherwise.
FlowSolver flow_solver_from_name(const std::string& name);
std::string flow_solver_name(FlowSolver solver);

struct FlowSampling {
  FlowSolver solver = FlowSolver::kEuler;
  int64_t steps = 28;
  // Noise levels follow s_i = shift t / (1 + (shift - 1) t) for t uniform from 1 to 0 (shift 1:
  // uniform; larger shifts spend more steps at high noise, as SD3/FLUX do).
  double shift = 1.0;
};

// The noise levels from 1 down to 0, steps + 1 of them.
std::vector<double> flow_noise_levels(const FlowSampling& sampling);

// The velocities one sampling evaluates: steps for Euler, 2 steps - 1 for Heun.
int64_t velocity_evaluations(const FlowSampling& sampling);

// v(x_s, s) for the whole image.
using VelocityFn = std::function<torch::Tensor(const torch::Tensor& x_s, double s)>;

// Integrates from x_1 = noise to s = 0 and returns x_0 (not clamped). `evaluated`, when given, is
// called after each velocity evaluation with (done, velocity_evaluations()).
torch::Tensor sample_flow(const torch::Tensor& noise, const VelocityFn& velocity,
                          const FlowSampling& sampling,
                          const std::function<void(int64_t, int64_t)>& evaluated = {});

}  // namespace srkit
