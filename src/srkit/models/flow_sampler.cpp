#include "srkit/models/flow_sampler.h"

#include "srkit/core/error.h"

namespace srkit {

FlowSolver flow_solver_from_name(const std::string& name) {
  if (name == "euler") return FlowSolver::kEuler;
  if (name == "heun") return FlowSolver::kHeun;
  throw usage_error("unknown sampler '" + name + "': use euler or heun");
}

std::string flow_solver_name(FlowSolver solver) {
  return solver == FlowSolver::kHeun ? "heun" : "euler";
}

std::vector<double> flow_noise_levels(const FlowSampling& sampling) {
  if (sampling.steps < 1) throw usage_error("sampling steps must be at least 1");
  if (!(sampling.shift > 0)) throw usage_error("the noise-level shift must be positive");
  std::vector<double> levels;
  for (int64_t i = 0; i <= sampling.steps; ++i) {
    const double t = 1.0 - static_cast<double>(i) / static_cast<double>(sampling.steps);
    levels.push_back(sampling.shift * t / (1.0 + (sampling.shift - 1.0) * t));
  }
  levels.back() = 0.0;
  return levels;
}

int64_t velocity_evaluations(const FlowSampling& sampling) {
  return sampling.solver == FlowSolver::kHeun ? 2 * sampling.steps - 1 : sampling.steps;
}

torch::Tensor sample_flow(const torch::Tensor& noise, const VelocityFn& velocity,
                          const FlowSampling& sampling,
                          const std::function<void(int64_t, int64_t)>& evaluated) {
  const auto levels = flow_noise_levels(sampling);
  const int64_t total = velocity_evaluations(sampling);
  int64_t done = 0;
  const auto evaluate = [&](const torch::Tensor& x, double s) {
    auto v = velocity(x, s);
    if (evaluated) evaluated(++done, total);
    return v;
  };
  auto x = noise.clone();
  for (size_t i = 0; i + 1 < levels.size(); ++i) {
    const double s = levels[i], next = levels[i + 1];
    const double h = next - s;  // negative: toward the image
    auto v = evaluate(x, s);
    if (sampling.solver == FlowSolver::kHeun && next > 0) {
      auto predicted = x + h * v;
      auto v_next = evaluate(predicted, next);
      x = x + (0.5 * h) * (v + v_next);
    } else {
      x = x + h * v;
    }
  }
  return x;
}

}  // namespace srkit
