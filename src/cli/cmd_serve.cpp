// srkit serve: a local web page to upscale a photo and look at the result (docs/serve.md).
#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "common.h"
#include "flag_checks.h"
#include "srkit/serve/upscale_jobs.h"
#include "srkit/serve/web_server.h"

namespace srkit::cli {
namespace {

struct ServeArgs {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string max_upload = "32M";
  int64_t max_input_pixels = 4000000;
  int queue = 4;
  std::vector<std::string> calibrations;
  std::vector<std::string> models;
  std::string max_memory;
  CommonFlags common;
};

// The library's option names as this command's flags.
std::string spelled(const Error& error) {
  return error.message([](const std::string& name) {
    if (name == "host") return std::string("--host");
    if (name == "port") return std::string("--port");
    if (name == "models" || name == "model") return std::string("--models");
    if (name == "calibrations") return std::string("--calibration");
    return name;
  });
}

int run_serve(const ServeArgs& args) {
  const auto device = apply_runtime(args.common);
  serve::JobsOptions jobs_options;
  jobs_options.models = args.models;
  for (const auto& c : args.calibrations) jobs_options.calibrations.emplace_back(c);
  jobs_options.device = device.str();
  if (!args.max_memory.empty()) jobs_options.max_memory = parse_bytes(args.max_memory);
  jobs_options.max_input_pixels = args.max_input_pixels;
  jobs_options.capacity = static_cast<size_t>(args.queue);

  serve::ServerOptions server_options;
  server_options.host = args.host;
  server_options.port = args.port;
  server_options.max_upload = parse_bytes(args.max_upload);
  if (!serve::is_loopback(args.host)) {
    say(CommonFlags{},  // not silenced by --quiet
        fmt::format("warning: --host {} lets other machines reach this server; it has no login, "
                    "so anyone who can reach it can upscale on this machine (serve on a network "
                    "you trust, or leave --host at 127.0.0.1)",
                    args.host));
  }
  try {
    say(args.common, "srkit serve: loading the models and calibrations");
    serve::UpscaleJobs jobs(jobs_options);
    serve::WebServer server(jobs, server_options, [&](const std::string& line) {
      say(args.common, "srkit serve: " + line);
    });
    const int port = server.bind();
    const auto host = args.host.find(':') != std::string::npos ? "[" + args.host + "]" : args.host;
    const auto url = fmt::format("http://{}:{}/", host, port);
    if (args.common.json) {
      std::cout << nlohmann::json{{"url", url}, {"port", port}}.dump() << std::endl;
    }
    say(args.common, fmt::format("srkit serve: open {} (Ctrl-C stops it)", url));
    // Ctrl-C (or SIGTERM) stops the server; asked again until it has, in case the signal came
    // before it was listening.
    std::atomic<bool> served{false};
    std::thread watcher([&server, &served] {
      while (!served) {
        if (interrupted()) server.stop();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
    server.serve();
    served = true;
    watcher.join();
    if (!interrupted()) throw usage_error("the server stopped listening on " + url);
    say(args.common, "srkit serve: stopped");
  } catch (const Error& e) {
    throw Error(e.kind(), spelled(e));
  }
  return kExitOk;
}

}  // namespace

void register_serve(CLI::App& app, Runner& run) {
  auto args = std::make_shared<ServeArgs>();
  auto* command = app.add_subcommand(
      "serve", "a local web page: upload a photo, upscale it, compare, see its confidence mask");
  command
      ->add_option("--host", args->host,
                   "address to listen on; anything but loopback is reachable from other machines")
      ->capture_default_str();
  command->add_option("--port", args->port, "port (0: any free port, printed)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  command->add_option("--max-upload", args->max_upload, "largest upload accepted (bytes, 32M)")
      ->check(byte_size())
      ->capture_default_str();
  command
      ->add_option("--max-input-pixels", args->max_input_pixels,
                   "uploads of more pixels are refused (srkit upscale streams larger images)")
      ->check(at_least(1))
      ->capture_default_str();
  command->add_option("--queue", args->queue, "jobs queued or running at once; more get HTTP 503")
      ->check(at_least(1))
      ->capture_default_str();
  command->add_option("--calibration", args->calibrations,
                      "a calibration file (srkit calibrate): masks for its model and scale; "
                      "repeat for several");
  command
      ->add_option("--models", args->models,
                   "models offered, comma-separated (default: every installed one)")
      ->delimiter(',');
  command
      ->add_option("--max-memory", args->max_memory,
                   "bytes one job may use (tiles are sized to fit; default from the machine)")
      ->check(byte_size());
  add_common_flags(*command, args->common);
  command->callback([args, &run] { run = [args] { return run_serve(*args); }; });
}

}  // namespace srkit::cli
