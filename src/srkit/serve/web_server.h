// `srkit serve`'s HTTP side: the page (embedded in the program, page/), a small JSON API over
// UpscaleJobs, and the rules that keep it local and safe. Uploads and results live in memory:
// nothing a client sends names a file, and nothing is written to disk.
//
//   GET  /                          the page (index.html, app.js, style.css)
//   GET  /api/models                models, scales, calibrations, limits
//   POST /api/jobs                  multipart form: image (file), model, scale, alpha -> {"id"}
//   GET  /api/jobs/ID               {"state", "progress", "position", "error", "result"}
//   GET  /api/jobs/ID/output.png    and mask.png, overlay.png once done
//
//   srkit::serve::WebServer server(jobs, {"127.0.0.1", 8080, 32 << 20});
//   int port = server.bind();   // then server.serve() blocks until server.stop()
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "srkit/serve/upscale_jobs.h"

namespace srkit::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";  // loopback: only this machine can connect
  int port = 8080;                 // 0 = any free port (bind() says which)
  int64_t max_upload = 32 << 20;   // bytes of a request body; more is refused with 413
};

// One line per request and per job event; the library itself never prints.
using LogFn = std::function<void(const std::string& line)>;

// Whether a host name or address only reaches this machine: localhost, 127.0.0.0/8, ::1.
bool is_loopback(const std::string& host);

class WebServer {
 public:
  WebServer(UpscaleJobs& jobs, ServerOptions options, LogFn log = {});
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  // Listens; returns the port. Throws a usage Error naming {{host}} or {{port}} when it cannot.
  int bind();
  // Answers requests until stop() (from any thread, a signal's watcher included).
  void serve();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace srkit::serve
