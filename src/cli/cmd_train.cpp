// srkit train: trains or fine-tunes a network from a YAML config, resumes, and runs data-parallel
// on several local processes (--nproc) or under a launcher that sets RANK/WORLD_SIZE/MASTER_*.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "common.h"
#include "srkit/train/guided_step.h"
#include "srkit/train/train.h"

namespace srkit::cli {
namespace {

struct TrainArgs {
  CommonFlags common;
  std::string config;
  bool resume = false;
  int64_t stop_after = 0;
  int nproc = 1;
};

// A TCP port nobody listens on now, for the rendezvous of local processes.
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (fd >= 0) close(fd);
    throw setup_error(
        "cannot find a free local port for --nproc (set MASTER_PORT and launch "
        "the ranks yourself)");
  }
  const int port = ntohs(address.sin_port);
  close(fd);
  return port;
}

// This process's arguments, from /proc (main's argv is not kept).
std::vector<std::string> own_arguments() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> arguments;
  std::string argument;
  while (std::getline(in, argument, '\0')) arguments.push_back(argument);
  return arguments;
}

// Starts `nproc` copies of this command without --nproc, as ranks 0..nproc-1 on this host, each
// with an equal share of the cores, and waits for them. If one fails, the others are stopped.
int launch_local_ranks(const TrainArgs& args) {
  const int port = free_port();
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads =
      args.common.threads > 0 ? args.common.threads : std::max(1, cores / args.nproc);
  std::vector<std::string> arguments;
  const auto own = own_arguments();
  for (size_t i = 0; i < own.size(); ++i) {
    if (own[i] == "--nproc" || own[i] == "--threads") {
      ++i;  // and its value
      continue;
    }
    if (own[i].rfind("--nproc=", 0) == 0 || own[i].rfind("--threads=", 0) == 0) continue;
    arguments.push_back(own[i]);
  }
  arguments.push_back("--threads");
  arguments.push_back(std::to_string(threads));
  std::vector<pid_t> children;
  for (int rank = 0; rank < args.nproc; ++rank) {
    const pid_t pid = fork();
    if (pid == 0) {
      setenv("RANK", std::to_string(rank).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(args.nproc).c_str(), 1);
      setenv("MASTER_ADDR", "127.0.0.1", 1);
      setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      std::vector<char*> argv;
      for (auto& a : arguments) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv("/proc/self/exe", argv.data());
      _exit(127);
    }
    if (pid < 0) throw setup_error("cannot start a training process (fork failed)");
    children.push_back(pid);
  }
  int result = kExitOk;
  for (size_t left = children.size(); left > 0; --left) {
    int status = 0;
    const pid_t done = wait(&status);
    if (done < 0) break;
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code != kExitOk && result == kExitOk) {
      result = code;
      for (pid_t child : children) {
        if (child != done) kill(child, SIGTERM);
      }
    }
  }
  return result;
}

nlohmann::json to_json(const TrainResult& r) {
  nlohmann::json out = {{"first_step", r.first_step},
                        {"step", r.step},
                        {"finished", r.finished},
                        {"seconds", r.seconds},
                        {"patches_per_second", r.patches_per_second},
                        {"model", r.model_file.string()},
                        {"checkpoint", r.checkpoint.string()},
                        {"log", r.log.string()}};
  if (!r.validation.is_null()) out["validation"] = r.validation;
  return out;
}

// --resume, --stop-after, Ctrl-C and the status line, for either trainer.
TrainOptions train_options(const TrainArgs& args, bool show) {
  TrainOptions options;
  options.resume = args.resume;
  options.stop_after = args.stop_after;
  options.progress = [](int64_t, int64_t) { return !interrupted(); };
  if (show)
    options.status = [](const std::string& line) { std::cerr << "\r\033[K" << line << std::flush; };
  return options;
}

// A MAG-Net config (model.architecture: magnet): the guided trainer, one process.
int run_guided_train(const TrainArgs& args) {
  const auto config = read_guided_train_config(args.config);
  const bool show = progress_visible(args.common);
  const auto options = train_options(args, show);
  say(args.common, fmt::format("training {} (guided, {} task(s)) -> {}", config.name,
                               config.tasks.size(), config.output.string()));
  const auto result = train_guided(config, options);
  if (show) std::cerr << "\n";
  say(args.common, fmt::format("{} at step {}/{} ({:.1f} patches/s); model {}, checkpoint {}",
                               result.finished ? "finished" : "stopped", result.step, config.steps,
                               result.patches_per_second, result.model_file.string(),
                               result.checkpoint.string()));
  if (args.common.json) print_json(to_json(result));
  if (!result.finished && interrupted()) {
    say(args.common, "interrupted: continue with the same command and --resume");
    return kExitInterrupted;
  }
  return kExitOk;
}

int run_train(TrainArgs args) {
  if (is_guided_train_config(args.config)) {
    if (args.nproc > 1) throw usage_error("--nproc: guided (MAG-Net) training runs on one process");
    const auto device = apply_runtime(args.common);
    if (!device.is_cpu()) {
      throw usage_error("--device " + args.common.device + ": srkit trains on the CPU only so far");
    }
    return run_guided_train(args);
  }
  if (args.nproc > 1) {
    if (std::getenv("RANK"))
      throw usage_error("--nproc: RANK is already set; use one or the other");
    return launch_local_ranks(args);
  }
  const auto device = apply_runtime(args.common);
  if (!device.is_cpu()) {
    throw usage_error("--device " + args.common.device +
                      ": srkit trains on the CPU only so far (NCCL/CUDA training is not built)");
  }
  const auto config = read_train_config(args.config);
  ProcessGroup group(distributed_environment());
  const bool leader = group.rank() == 0;
  if (!leader) args.common.quiet = true;
  const bool show = progress_visible(args.common);
  const auto options = train_options(args, show);
  say(args.common, fmt::format("training {} ({} processes) -> {}", config.name, group.world_size(),
                               config.output.string()));
  const auto result = train(config, options, group);
  if (show) std::cerr << "\n";
  if (!leader) return result.finished || !interrupted() ? kExitOk : kExitInterrupted;
  say(args.common, fmt::format("{} at step {}/{} ({:.1f} patches/s); model {}, checkpoint {}",
                               result.finished ? "finished" : "stopped", result.step, config.steps,
                               result.patches_per_second, result.model_file.string(),
                               result.checkpoint.string()));
  if (!result.validation.is_null()) {
    const auto& v = result.validation;
    say(args.common,
        fmt::format("validation (the exported weights, {} photos): PSNR-Y {:.3f} dB, SSIM-Y "
                    "{:.4f}, LSD {:.3f}",
                    v.at("images").get<int64_t>(), v.at("psnr_y").get<double>(),
                    v.at("ssim_y").get<double>(), v.at("lsd").get<double>()));
  }
  if (args.common.json) print_json(to_json(result));
  if (!result.finished && interrupted()) {
    say(args.common, "interrupted: continue with the same command and --resume");
    return kExitInterrupted;
  }
  return kExitOk;
}

}  // namespace

void register_train(CLI::App& app, Runner& run) {
  auto args = std::make_shared<TrainArgs>();
  auto* command = app.add_subcommand(
      "train", "train or fine-tune a network from a YAML config (docs/training.md)");
  command->add_option("--config", args->config, "the YAML config (see configs/)")
      ->required()
      ->check(CLI::ExistingFile);
  command->add_flag("--resume", args->resume,
                    "continue from <output>/checkpoint.pt exactly where it stopped");
  command
      ->add_option("--stop-after", args->stop_after,
                   "stop after this many steps of this run (checkpointed; --resume continues)")
      ->check(CLI::NonNegativeNumber);
  command
      ->add_option("--nproc", args->nproc,
                   "data-parallel on this many local processes (c10d Gloo; or set RANK, "
                   "WORLD_SIZE, MASTER_ADDR, MASTER_PORT yourself)")
      ->check(CLI::Range(1, 256));
  add_common_flags(*command, args->common);
  command->callback([args, &run] { run = [args] { return run_train(*args); }; });
}

}  // namespace srkit::cli
