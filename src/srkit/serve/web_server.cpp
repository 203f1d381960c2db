#include "srkit/serve/web_server.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <thread>

#include <httplib.h>

#include "srkit/core/error.h"
#include "srkit/serve/page_assets.h"

namespace srkit::serve {

bool is_loopback(const std::string& host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  in_addr address{};
  return inet_pton(AF_INET, host.c_str(), &address) == 1 && (ntohl(address.s_addr) >> 24) == 127;
}

namespace {

// Every response: no sniffing, nothing loaded from elsewhere, never framed by another site.
const httplib::Headers kSafetyHeaders = {
    {"X-Content-Type-Options", "nosniff"},
    {"Content-Security-Policy",
     "default-src 'self'; img-src 'self' blob:; style-src 'self'; script-src 'self'; "
     "connect-src 'self'; frame-ancestors 'none'; form-action 'none'; base-uri 'none'"},
    {"Referrer-Policy", "no-referrer"},
    {"Cross-Origin-Resource-Policy", "same-origin"},
};

void send_json(httplib::Response& response, int status, const nlohmann::json& body) {
  response.status = status;
  response.set_content(body.dump(), "application/json");
}

void send_error(httplib::Response& response, int status, const std::string& message) {
  send_json(response, status, {{"error", message}});
}

// What an error without a body says.
std::string status_text(int status) {
  switch (status) {
    case 400:
      return "bad request";
    case 404:
      return "not found: the page is at /, the API under /api/";
    case 405:
      return "method not allowed";
    case 413:
      return "the upload is larger than this server takes";
    case 414:
      return "the address is too long";
    default:
      return "HTTP error " + std::to_string(status);
  }
}

// The host of a Host header: "127.0.0.1:8080" -> "127.0.0.1", "[::1]:80" -> "[::1]".
std::string host_of(const std::string& header) {
  if (!header.empty() && header.front() == '[') return header.substr(0, header.find(']') + 1);
  return header.substr(0, header.find(':'));
}

// What error messages call an upload: its base name, printable, short. It is never opened.
std::string upload_name(const std::string& filename) {
  std::string name = filename.substr(filename.find_last_of("/\\") + 1);
  name.erase(
      std::remove_if(name.begin(), name.end(), [](unsigned char c) { return !std::isprint(c); }),
      name.end());
  if (name.size() > 80) name = name.substr(0, 80);
  return name.empty() ? "the upload" : name;
}

// A form field as a number; `fallback` when absent. Throws a usage Error naming the field.
double number_field(const httplib::Request& request, const std::string& field, double fallback) {
  if (!request.has_file(field)) return fallback;
  const auto text = request.get_file_value(field).content;
  if (text.empty()) return fallback;
  try {
    size_t used = 0;
    const double value = std::stod(text, &used);
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  throw usage_error("{{" + field + "}} must be a number, not '" + upload_name(text) + "'");
}

}  // namespace

struct WebServer::Impl {
  UpscaleJobs& jobs;
  ServerOptions options;
  LogFn log;
  httplib::Server http;

  Impl(UpscaleJobs& j, ServerOptions o, LogFn l)
      : jobs(j), options(std::move(o)), log(std::move(l)) {}

  void say(const std::string& line) const {
    if (log) log(line);
  }

  void routes() {
    // httplib's default sets SO_REUSEPORT, which lets a second server bind the same port and
    // take part of its requests; SO_REUSEADDR alone still allows a restart right after a stop.
    http.set_socket_options([](int socket) {  // httplib::socket_t, a descriptor on POSIX
      int yes = 1;
      setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    http.set_default_headers(kSafetyHeaders);
    http.set_payload_max_length(static_cast<size_t>(options.max_upload));
    http.set_read_timeout(30, 0);
    http.set_write_timeout(30, 0);
    http.set_keep_alive_max_count(20);
    // A few threads: requests are small (the work is the jobs' own thread).
    http.new_task_queue = [] { return new httplib::ThreadPool(8); };
    const bool local = is_loopback(options.host);
    http.set_pre_routing_handler(
        [local](const httplib::Request& request, httplib::Response& response) {
          // Served on loopback, a request naming another host comes from a page that resolved its
          // own name to this machine (DNS rebinding): refused.
          if (local && !is_loopback(host_of(request.get_header_value("Host")))) {
            send_error(response, 403, "this server answers only requests for localhost");
            return httplib::Server::HandlerResponse::Handled;
          }
          return httplib::Server::HandlerResponse::Unhandled;
        });
    http.set_error_handler(httplib::Server::HandlerWithResponse(
        [](const httplib::Request&, httplib::Response& response) {
          if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
          send_error(response, response.status, status_text(response.status));
          return httplib::Server::HandlerResponse::Handled;
        }));
    http.set_exception_handler(
        [this](const httplib::Request& request, httplib::Response& response, std::exception_ptr e) {
          std::string what = "unknown";
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& error) {
            what = error.what();
          } catch (...) {
          }
          say("error: " + request.method + " " + request.path + ": " + what);
          send_error(response, 500, "internal error: " + what);
        });
    http.set_logger([this](const httplib::Request& request, const httplib::Response& response) {
      say(request.method + " " + request.path + " " + std::to_string(response.status));
    });

    for (const auto& asset : page_assets()) {
      http.Get(asset.path, [&asset](const httplib::Request&, httplib::Response& response) {
        response.set_header("Cache-Control", "no-cache");
        response.set_content(asset.body, asset.content_type);
      });
    }
    http.Get("/api/models", [this](const httplib::Request&, httplib::Response& response) {
      auto catalogue = jobs.catalogue();
      catalogue["max_upload"] = options.max_upload;
      send_json(response, 200, catalogue);
    });
    http.Post("/api/jobs", [this](const httplib::Request& request, httplib::Response& response) {
      submit(request, response);
    });
    http.Get(R"(/api/jobs/([0-9a-f]{32}))",
             [this](const httplib::Request& request, httplib::Response& response) {
               const auto status = jobs.status(request.matches[1]);
               if (!status) return send_error(response, 404, "no such job (or it expired)");
               send_json(response, 200,
                         {{"state", to_string(status->state)},
                          {"progress", status->progress},
                          {"position", status->position},
                          {"error", status->error},
                          {"result", status->result}});
             });
    http.Get(R"(/api/jobs/([0-9a-f]{32})/(output|mask|overlay)\.png)",
             [this](const httplib::Request& request, httplib::Response& response) {
               const auto png = jobs.result(request.matches[1], request.matches[2]);
               if (!png) {
                 return send_error(response, 404,
                                   "no such result (not done, expired, or no mask "
                                   "was asked for)");
               }
               response.set_header("Cache-Control", "private, max-age=3600, immutable");
               response.set_content(reinterpret_cast<const char*>(png->data()), png->size(),
                                    "image/png");
             });
  }

  void submit(const httplib::Request& request, httplib::Response& response) {
    if (!request.is_multipart_form_data()) {
      return send_error(response, 415,
                        "send a multipart/form-data form with the fields image, model, scale "
                        "and alpha");
    }
    if (!request.has_file("image") || request.get_file_value("image").filename.empty()) {
      return send_error(response, 400, "the form has no image file (field 'image')");
    }
    try {
      const auto image = request.get_file_value("image");
      JobRequest job;
      job.name = upload_name(image.filename);
      job.image.assign(image.content.begin(), image.content.end());
      job.model = request.has_file("model") ? request.get_file_value("model").content : "";
      job.scale = number_field(request, "scale", 0);
      job.alpha = number_field(request, "alpha", 0);
      const auto id = jobs.submit(std::move(job));
      say("job " + id + ": " + std::to_string(image.content.size()) + " bytes queued");
      response.set_header("Location", "/api/jobs/" + id);
      send_json(response, 202, {{"id", id}});
    } catch (const QueueFull& e) {
      response.set_header("Retry-After", "10");
      send_error(response, 503, std::string("busy: ") + e.what() + "; try again shortly");
    } catch (const Error& e) {
      // Bad fields are the client's to fix (400); an image that cannot be used, 422.
      send_error(response, e.kind() == ErrorKind::kInput ? 422 : 400, e.what());
    }
  }
};

WebServer::WebServer(UpscaleJobs& jobs, ServerOptions options, LogFn log)
    : impl_(std::make_unique<Impl>(jobs, std::move(options), std::move(log))) {
  if (impl_->options.max_upload < 1) throw usage_error("{{max_upload}} must be positive");
  if (impl_->options.port < 0 || impl_->options.port > 65535) {
    throw usage_error("{{port}} must be 0 (any free port) to 65535");
  }
  impl_->routes();
}

WebServer::~WebServer() { stop(); }

int WebServer::bind() {
  auto& o = impl_->options;
  if (o.port == 0) {
    const int port = impl_->http.bind_to_any_port(o.host);
    if (port <= 0) throw usage_error("{{host}} " + o.host + ": cannot listen on it");
    o.port = port;
    return port;
  }
  if (!impl_->http.bind_to_port(o.host, o.port)) {
    throw usage_error("cannot listen on " + o.host + " port " + std::to_string(o.port) +
                      " (in use, or not an address of this machine): choose another {{port}} "
                      "or {{host}}");
  }
  return o.port;
}

void WebServer::serve() { impl_->http.listen_after_bind(); }

void WebServer::stop() {
  if (impl_) impl_->http.stop();
}

}  // namespace srkit::serve
