// Time for reports: wall seconds since a steady-clock mark, and the CPU seconds the calling
// thread has used (what a thread sharing the cores with others cost them).
//
//   const auto start = srkit::SteadyClock::now();
//   ...
//   record["seconds"] = srkit::seconds_since(start);
#pragma once

#include <time.h>

#include <chrono>

namespace srkit {

using SteadyClock = std::chrono::steady_clock;

inline double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

inline double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

}  // namespace srkit
