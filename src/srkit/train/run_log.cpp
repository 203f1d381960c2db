#include "srkit/train/run_log.h"

#include <cstdio>
#include <sstream>

#include "srkit/io/atomic_file.h"

namespace srkit {

JsonLog::JsonLog(const std::filesystem::path& path, bool active) {
  if (active) file_.open(path, std::ios::app);
}

void JsonLog::write(const nlohmann::json& record) {
  if (file_.is_open()) file_ << record.dump() << std::endl;
}

void truncate_log(const std::filesystem::path& log, int64_t step) {
  std::ifstream in(log);
  if (!in) return;
  std::ostringstream kept;
  std::string line;
  while (std::getline(in, line)) {
    const auto record = nlohmann::json::parse(line, nullptr, false);
    if (!record.is_discarded() && record.value("step", int64_t{0}) <= step) kept << line << '\n';
  }
  in.close();
  AtomicOutput out(log);
  std::ofstream(out.temp_path()) << kept.str();
  out.commit();
}

std::string format_status(int64_t step, int64_t steps, double loss, double lr, double rate) {
  char line[160];
  std::snprintf(line, sizeof line, "step %lld/%lld  loss %.5f  lr %.2e  %.1f patches/s",
                static_cast<long long>(step), static_cast<long long>(steps), loss, lr, rate);
  return line;
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

}  // namespace srkit
