// What every srkit subcommand shares: the common flags, progress on stderr, Ctrl-C, error
// reporting and exit codes.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <torch/types.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "srkit/core/error.h"
#include "srkit/core/progress.h"
#include "srkit/io/image_limits.h"

namespace srkit::cli {

// Exit codes (DESIGN.md).
constexpr int kExitOk = 0;
constexpr int kExitSomeFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitInterrupted = 130;

struct CommonFlags {
  int threads = 0;  // 0 = all cores
  std::string device = "cpu";
  bool json = false;
  bool quiet = false;
  int64_t max_pixels = kDefaultMaxImagePixels;  // io/image_limits.h; 0 = no limit
};

// Adds --threads, --device, --json, --quiet and --max-pixels to a subcommand.
void add_common_flags(CLI::App& command, CommonFlags& flags);

// Applies --threads and --max-pixels and returns the --device.
torch::Device apply_runtime(const CommonFlags& flags);

// A subcommand: registered with CLI11, then run when chosen; returns the exit code.
using Runner = std::function<int()>;
void register_upscale(CLI::App& app, Runner& run);
void register_eval(CLI::App& app, Runner& run);
void register_degrade(CLI::App& app, Runner& run);
void register_models(CLI::App& app, Runner& run);
void register_bench(CLI::App& app, Runner& run);
void register_calibrate(CLI::App& app, Runner& run);
void register_conformal_eval(CLI::App& app, Runner& run);
void register_train(CLI::App& app, Runner& run);
void register_guide(CLI::App& app, Runner& run);
void register_serve(CLI::App& app, Runner& run);

// Ctrl-C sets a flag that long work polls; a second Ctrl-C exits at once.
void install_interrupt_handler();
bool interrupted();

// Progress on stderr, only when stderr is a terminal and not --quiet. The returned function also
// answers "stop" after Ctrl-C.
ProgressFn progress_printer(const CommonFlags& flags, const std::string& label);
void clear_progress_line(const CommonFlags& flags);
// Whether progress lines are shown: stderr is a terminal and --quiet was not given.
bool progress_visible(const CommonFlags& flags);

// A library error as this program says it: the options it names ({{name}}) as their flags.
std::string describe(const Error& error);

// Human messages on stderr (silenced by --quiet) and errors (never silenced).
void say(const CommonFlags& flags, const std::string& message);
void print_error(const std::string& message);

// Writes `lines` (each followed by a newline) to `path` atomically: the --csv files. Throws an
// output Error naming the file.
void write_lines(const std::string& path, const std::vector<std::string>& lines);

// Prints a JSON document on stdout.
void print_json(const nlohmann::json& document);

// Parses "4G", "512M", "1000000" into bytes.
int64_t parse_bytes(const std::string& text);

// JSON has no infinity: a PSNR of identical images is written as null, with "inf" in tables.
nlohmann::json finite_or_null(double value);

}  // namespace srkit::cli
