#include "flag_checks.h"

#include <cmath>
#include <functional>
#include <string>

#include <fmt/format.h>

#include "common.h"

namespace srkit::cli {
namespace {

// A validator of numbers: `allowed` says whether a value passes, `what` what would.
CLI::Validator number_check(const std::string& what, std::function<bool(double)> allowed) {
  return CLI::Validator(
      [what, allowed](std::string& text) -> std::string {
        double value = 0;
        size_t used = 0;
        try {
          value = std::stod(text, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used != text.size() || !std::isfinite(value)) {
          return fmt::format("'{}' is not a number; use {}", text, what);
        }
        return allowed(value) ? std::string()
                              : fmt::format("{} is out of range; use {}", text, what);
      },
      what);
}

}  // namespace

CLI::Validator positive() {
  return number_check("a number > 0", [](double x) { return x > 0; });
}

CLI::Validator at_least(double least) {
  return number_check(fmt::format("a number >= {}", least),
                      [least](double x) { return x >= least; });
}

CLI::Validator unit_interval_above_zero() {
  return number_check("a number > 0 and <= 1", [](double x) { return x > 0 && x <= 1; });
}

CLI::Validator odd_positive() {
  return number_check("an odd whole number (1, 3, 5, ...)", [](double x) {
    return x >= 1 && x == std::floor(x) && std::fmod(x, 2.0) == 1.0;
  });
}

CLI::Validator byte_size() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        try {
          parse_bytes(text);
          return {};
        } catch (const Error& e) {
          return e.what();
        }
      },
      "SIZE");
}

}  // namespace srkit::cli
