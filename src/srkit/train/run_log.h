// Bookkeeping every training loop shares: the JSON-lines log (truncated to a checkpoint's step on
// resume), the one-line status, the optimiser's learning rate.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include <torch/optim/optimizer.h>
#include <nlohmann/json.hpp>

namespace srkit {

// Appends one JSON record per line (only when `active`: rank 0 of a data-parallel run).
class JsonLog {
 public:
  JsonLog(const std::filesystem::path& path, bool active);
  void write(const nlohmann::json& record);

 private:
  std::ofstream file_;
};

// Keeps the log's records up to `step` (a resumed run rewrites what came after its checkpoint).
void truncate_log(const std::filesystem::path& log, int64_t step);

// "step 10/100  loss 0.01234  lr 1.00e-04  12.3 patches/s"
std::string format_status(int64_t step, int64_t steps, double loss, double lr, double rate);

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

}  // namespace srkit
