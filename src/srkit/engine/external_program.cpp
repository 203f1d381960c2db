#include "srkit/engine/external_program.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/engine/upscale.h"
#include "srkit/io/image_io.h"
#include "srkit/ops/color.h"

namespace srkit {
namespace {

std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (const char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// A private temporary folder, removed with its contents at the end of the scope.
class ScratchDir {
 public:
  ScratchDir() {
    auto pattern = (std::filesystem::temp_directory_path() / "srkit-external-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw output_error(pattern, "cannot create a temporary folder", "check TMPDIR");
    }
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string last_lines(const std::filesystem::path& file, size_t count) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string out;
  for (size_t i = lines.size() > count ? lines.size() - count : 0; i < lines.size(); ++i) {
    out += "\n  | " + lines[i];
  }
  return out;
}

// Runs `command` with /bin/sh in its own process group, stdout discarded and stderr to
// `stderr_file`. Returns the exit status; throws on timeout or when asked to stop.
int run_shell(const std::string& command, const std::filesystem::path& stderr_file,
              const std::string& label, const ExternalProgramOptions& options) {
  const pid_t child = fork();
  if (child < 0) throw input_error(label, "cannot start the program (fork failed)");
  if (child == 0) {
    setpgid(0, 0);
    const int null = open("/dev/null", O_RDWR);
    const int err = open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    if (err >= 0) dup2(err, STDERR_FILENO);
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  setpgid(child, child);
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  while (true) {
    const pid_t done = waitpid(child, &status, WNOHANG);
    if (done == child) break;
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const bool timed_out = elapsed > options.timeout_seconds;
    const bool stop = !report(options.progress, static_cast<int64_t>(elapsed * 1000),
                              static_cast<int64_t>(options.timeout_seconds * 1000));
    if (timed_out || stop) {
      kill(-child, SIGKILL);
      waitpid(child, &status, 0);
      if (stop) throw Error(ErrorKind::kCancelled, "interrupted");
      throw input_error(
          label, "did not finish within " + number(options.timeout_seconds) + " s and was stopped",
          "raise {{ExternalProgramOptions::timeout_seconds}} if it is just slow");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status;
}

}  // namespace

ExternalUpscaler::ExternalUpscaler(std::string command, double scale,
                                   ExternalProgramOptions options)
    : command_(std::move(command)), scale_(scale), options_(std::move(options)) {
  if (command_.find("{in}") == std::string::npos || command_.find("{out}") == std::string::npos) {
    throw usage_error("{{command}} `" + command_ +
                      "` must contain {in} and {out}, e.g. 'my-upscaler {in} {out}'");
  }
  if (!(scale_ > 0)) throw usage_error("{{command}} needs {{scale}}");
}

torch::Tensor ExternalUpscaler::operator()(const torch::Tensor& lr) const {
  const std::string label = "external program `" + command_ + "`";
  ScratchDir scratch;
  const auto in = scratch.path() / "input.png";
  const auto out = scratch.path() / "output.png";
  const auto log = scratch.path() / "stderr.txt";
  write_image(in, lr.to(torch::kCPU), 8);
  const auto command = replace_all(replace_all(command_, "{in}", shell_quote(in.string())), "{out}",
                                   shell_quote(out.string()));
  const int status = run_shell(command, log, label, options_);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const std::string how = WIFEXITED(status)
                                ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                : "was killed by signal " + std::to_string(WTERMSIG(status));
    throw input_error(label, how + last_lines(log, 5), "run the command by hand to see why");
  }
  if (!std::filesystem::exists(out)) {
    throw input_error(label, "finished but wrote no file at {out}",
                      "check that the command writes its result to the {out} path");
  }
  const auto hr = read_image(out).pixels;
  const int64_t want_h = scaled_size(lr.size(1), scale_), want_w = scaled_size(lr.size(2), scale_);
  if (hr.size(1) != want_h || hr.size(2) != want_w) {
    throw input_error(label,
                      "wrote " + std::to_string(hr.size(2)) + "x" + std::to_string(hr.size(1)) +
                          " for a " + std::to_string(lr.size(2)) + "x" +
                          std::to_string(lr.size(1)) + " input; x" + number(scale_) + " needs " +
                          std::to_string(want_w) + "x" + std::to_string(want_h),
                      "pass the program's own scale with {{scale}}");
  }
  return as_rgb(hr).contiguous();
}

}  // namespace srkit
