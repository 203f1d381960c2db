// Wall time for reports: seconds since a steady-clock mark.
//
//   const auto start = srkit::SteadyClock::now();
//   ...
//   record["seconds"] = srkit::seconds_since(start);
#pragma once

#include <chrono>

namespace srkit {

using SteadyClock = std::chrono::steady_clock;

inline double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

}  // namespace srkit
