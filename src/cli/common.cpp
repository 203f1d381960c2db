#include "common.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>

#include <fmt/format.h>

#include "flag_checks.h"
#include "srkit/core/runtime.h"
#include "srkit/io/atomic_file.h"

namespace srkit::cli {
namespace {

std::atomic<bool> g_interrupted{false};

void on_interrupt(int) {
  if (g_interrupted.exchange(true)) _exit(kExitInterrupted);
}

bool stderr_is_terminal() { return isatty(STDERR_FILENO) != 0; }

}  // namespace

void add_common_flags(CLI::App& command, CommonFlags& flags) {
  command.add_option("--threads", flags.threads, "CPU threads (default, or 0: all cores)")
      ->check(at_least(0));
  command.add_option("--device", flags.device, "cpu, cuda, cuda:N or auto")->capture_default_str();
  command.add_flag("--json", flags.json, "machine-readable results on stdout");
  command.add_flag("-q,--quiet", flags.quiet, "no progress or notes on stderr (errors still)");
  command
      .add_option("--max-pixels", flags.max_pixels,
                  "refuse input images of more pixels (a damaged file or a decompression bomb; "
                  "0: no limit)")
      ->check(at_least(0))
      ->capture_default_str();
}

torch::Device apply_runtime(const CommonFlags& flags) {
  set_threads(flags.threads);
  set_max_image_pixels(flags.max_pixels);
  return parse_device(flags.device);
}

void install_interrupt_handler() {
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool interrupted() { return g_interrupted.load(); }

namespace {

// "42 s left", "3 min 05 s left", "2 h 10 min left".
std::string time_left(double seconds) {
  const auto s = static_cast<int64_t>(std::llround(seconds));
  if (s < 60) return fmt::format("{} s left", s);
  if (s < 3600) return fmt::format("{} min {:02} s left", s / 60, s % 60);
  return fmt::format("{} h {:02} min left", s / 3600, (s % 3600) / 60);
}

}  // namespace

ProgressFn progress_printer(const CommonFlags& flags, const std::string& label) {
  const bool show = !flags.quiet && stderr_is_terminal();
  const auto start = std::chrono::steady_clock::now();
  return [show, label, start](int64_t done, int64_t total) {
    if (show) {
      // The time left, once the work is long enough for the rate to mean something.
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::string eta;
      if (done > 0 && done < total && elapsed > 3.0) {
        eta = ", " +
              time_left(elapsed / static_cast<double>(done) * static_cast<double>(total - done));
      }
      std::cerr << "\r\033[K" << label << " " << done << "/" << total << eta << std::flush;
    }
    return !interrupted();
  };
}

bool progress_visible(const CommonFlags& flags) { return !flags.quiet && stderr_is_terminal(); }

void clear_progress_line(const CommonFlags& flags) {
  if (!flags.quiet && stderr_is_terminal()) std::cerr << "\r\033[K" << std::flush;
}

void say(const CommonFlags& flags, const std::string& message) {
  if (!flags.quiet) std::cerr << message << "\n";
}

std::string describe(const Error& error) {
  // The library's option names and the flags that set them.
  static const std::map<std::string, std::string> kFlags = {
      {"model", "--model"},
      {"upgrade", "--upgrade"},
      {"output", "--output"},
      {"precision", "--precision"},
      {"scale", "--scale"},
      {"seed", "--seed"},
      {"modality", "--modality"},
      {"steps", "--steps"},
      {"sampler", "--sampler"},
      {"device", "--device"},
      {"overwrite", "--overwrite"},
      {"skip_existing", "--skip-existing"},
      {"max_pixels", "--max-pixels"},
      {"max_memory", "--max-memory"},
      {"WriteOptions::overwrite", "--overwrite"},
      {"command", "--model-cmd"},
      {"ExternalProgramOptions::timeout_seconds", "--model-timeout"},
      {"TrainOptions::resume", "--resume"},
      {"crop", "--crop"},
      {"slice", "--slice"},
      {"EnsembleOptions::samples", "--samples"},
      {"EnsembleOptions::shift", "--shift"},
      {"EnsembleOptions::noise", "--noise"},
      {"ScoreOptions::kernel", "--score-kernel"},
      {"ScoreOptions::clip", "--score-clip"},
      {"ScoreOptions::blur_sigma", "--score-blur"},
      {"FidelityOptions::metric", "--fidelity"},
  };
  return error.message([](const std::string& name) {
    const auto found = kFlags.find(name);
    return found == kFlags.end() ? name : found->second;
  });
}

void print_error(const std::string& message) { std::cerr << "srkit: error: " << message << "\n"; }

void print_json(const nlohmann::json& document) { std::cout << document.dump(2) << std::endl; }

int64_t parse_bytes(const std::string& text) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    throw usage_error("'" + text + "' is not a size (examples: 4G, 512M, 1000000)");
  }
  const std::string unit = text.substr(used);
  double factor = 1;
  if (unit == "K" || unit == "k")
    factor = 1024.0;
  else if (unit == "M" || unit == "m")
    factor = 1024.0 * 1024;
  else if (unit == "G" || unit == "g")
    factor = 1024.0 * 1024 * 1024;
  else if (!unit.empty())
    throw usage_error("'" + text + "': unknown unit (use K, M or G)");
  if (value <= 0) throw usage_error("'" + text + "': a size must be positive");
  return static_cast<int64_t>(value * factor);
}

nlohmann::json finite_or_null(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  AtomicOutput out(path);
  std::ofstream file(out.temp_path());
  for (const auto& line : lines) file << line << "\n";
  file.close();
  if (!file) throw output_error(path, "cannot be written", "check the folder and disk space");
  out.commit();
}

}  // namespace srkit::cli
