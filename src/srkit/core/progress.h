// Progress and cancellation: the library never prints. Long operations call a ProgressFn with the
// units done so far and the total; returning false asks the operation to stop (it then throws an
// Error of kind kCancelled and leaves no partial output behind).
#pragma once

#include <cstdint>
#include <functional>

namespace srkit {

using ProgressFn = std::function<bool(int64_t done, int64_t total)>;

inline bool report(const ProgressFn& progress, int64_t done, int64_t total) {
  return !progress || progress(done, total);
}

}  // namespace srkit
