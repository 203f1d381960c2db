// Checks of flag values, run as the command line is parsed: a value out of range is a usage error
// (exit 2) that names the flag, the value and what is allowed, before any work starts.
//
//   command->add_option("--scale", scale, "...")->check(positive());
//   command->add_option("--tile", tile, "... (0: from --max-memory)")->check(at_least(0));
#pragma once

#include <CLI/CLI.hpp>

namespace srkit::cli {

// A number > 0.
CLI::Validator positive();
// A number >= `least`.
CLI::Validator at_least(double least);
// A number in (0, 1].
CLI::Validator unit_interval_above_zero();
// An odd whole number >= 1: a window side with a centre.
CLI::Validator odd_positive();
// A size in bytes as parse_bytes (common.h) reads it: 4G, 512M, 1000000.
CLI::Validator byte_size();

}  // namespace srkit::cli
