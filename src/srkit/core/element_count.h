// The number of elements a file's declared shape asks for, checked: readers of files from
// strangers (NumPy, TF.js, ncnn) must neither overflow the product nor trust a negative side.
//
//   const auto count = srkit::element_count(shape);      // std::nullopt: refuse the file
//   if (!count || *count > bytes_left / item) throw input_error(...);
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace srkit {

// The product of `shape`, or nullopt when a side is negative or the product passes `limit`.
inline std::optional<int64_t> element_count(const std::vector<int64_t>& shape,
                                            int64_t limit = std::numeric_limits<int64_t>::max()) {
  int64_t count = 1;
  for (const int64_t side : shape) {
    if (side < 0) return std::nullopt;
    if (side != 0 && count > limit / side) return std::nullopt;
    count *= side;
  }
  return count;
}

}  // namespace srkit
