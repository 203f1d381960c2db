// srkit serve, as its users meet it: a photo uploaded through the page in headless Chromium
// (driven over the DevTools protocol on a pipe) comes back upscaled, identical to srkit upscale's,
// with its confidence mask to toggle; and hostile requests get clear HTTP errors while the server
// keeps serving. No LibTorch here: the server is the srkit program, seen from outside.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "support/temp_dir.h"

namespace {

using Clock = std::chrono::steady_clock;
using srkit::testing::TempDir;
namespace fs = std::filesystem;

fs::path sample(const std::string& name) {
  return fs::path(SRKIT_SOURCE_DIR) / "data" / "samples" / name;
}

// A child process with its stdout on a pipe and its stderr in a file.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const fs::path& stderr_file,
          const fs::path& working_dir = {}) {
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      const int err = open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(err, 2);
      close(out[0]);
      if (!working_dir.empty() && chdir(working_dir.c_str()) != 0) _exit(127);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(out[1]);
    stdout_ = out[0];
  }
  ~Process() {
    if (pid_ > 0 && running()) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(stdout_);
  }

  // The next line of stdout, or "" after `seconds`.
  std::string line(double seconds) {
    std::string text;
    const auto end = Clock::now() + std::chrono::duration<double>(seconds);
    while (Clock::now() < end) {
      pollfd fd{stdout_, POLLIN, 0};
      if (poll(&fd, 1, 100) <= 0) continue;
      char c;
      if (read(stdout_, &c, 1) != 1) break;
      if (c == '\n') return text;
      text += c;
    }
    return "";
  }

  bool running() {
    if (exited_) return false;
    const pid_t done = waitpid(pid_, &status_, WNOHANG);
    exited_ = done == pid_;
    return !exited_;
  }

  // Sends `signal` and returns the exit code (or -1 after `seconds`).
  int stop(int signal, double seconds) {
    if (running()) kill(pid_, signal);
    const auto end = Clock::now() + std::chrono::duration<double>(seconds);
    while (running() && Clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (running()) return -1;
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  }

 private:
  pid_t pid_ = -1;
  int stdout_ = -1;
  int status_ = 0;
  bool exited_ = false;
};

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// `srkit serve` on a free port of loopback; the port is read from its --json line.
struct Server {
  Server(const TempDir& dir, const std::vector<std::string>& flags)
      : log(dir / "serve.log"), process(command(flags), log, dir.path()) {
    const auto first = process.line(120);
    if (first.empty()) throw std::runtime_error("srkit serve did not start: " + read_text(log));
    port = nlohmann::json::parse(first)["port"].get<int>();
  }
  static std::vector<std::string> command(const std::vector<std::string>& flags) {
    std::vector<std::string> argv{SRKIT_BINARY, "serve", "--port", "0", "--json"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    return argv;
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60, 0);
    return c;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/"; }

  fs::path log;
  Process process;
  int port = 0;
};

// Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe: it
// reads commands from fd 3 and writes replies to fd 4, each JSON message ended by a NUL).
class Browser {
 public:
  explicit Browser(const fs::path& profile) {
    int commands[2], replies[2];
    if (pipe(commands) != 0 || pipe(replies) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(commands[0], 3);
      dup2(replies[1], 4);
      const int quiet = open("/dev/null", O_WRONLY);
      dup2(quiet, 1);
      dup2(quiet, 2);
      const std::string user_data = "--user-data-dir=" + profile.string();
      execlp("chromium-headless-shell", "chromium-headless-shell", "--remote-debugging-pipe",
             "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
             "--window-size=1280,900", user_data.c_str(), "about:blank", nullptr);
      _exit(127);
    }
    close(commands[0]);
    close(replies[1]);
    to_ = commands[1];
    from_ = replies[0];
    signal(SIGPIPE, SIG_IGN);
    const auto page = call("Target.createTarget", {{"url", "about:blank"}})["targetId"];
    session_ = call("Target.attachToTarget", {{"targetId", page}, {"flatten", true}})["sessionId"];
    if (session_.empty()) throw std::runtime_error("Chromium has no page");
  }
  ~Browser() {
    try {
      session_.clear();
      call("Browser.close", {}, 5);
    } catch (const std::exception&) {
    }
    const auto end = Clock::now() + std::chrono::seconds(5);
    while (waitpid(pid_, nullptr, WNOHANG) == 0 && Clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, WNOHANG);
    close(to_);
    close(from_);
  }

  // One command and its result; throws on an error reply or after `seconds`.
  nlohmann::json call(const std::string& method,
                      const nlohmann::json& params = nlohmann::json::object(),
                      double seconds = 60) {
    const int id = next_id_++;
    nlohmann::json message{{"id", id}, {"method", method}, {"params", params}};
    if (!session_.empty()) message["sessionId"] = session_;
    const auto text = message.dump() + '\0';
    if (write(to_, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
      throw std::runtime_error("Chromium closed its pipe");
    }
    const auto end = Clock::now() + std::chrono::duration<double>(seconds);
    for (;;) {
      const auto zero = buffer_.find('\0');
      if (zero != std::string::npos) {
        const auto reply = nlohmann::json::parse(buffer_.substr(0, zero));
        buffer_.erase(0, zero + 1);
        if (reply.value("id", -1) != id) continue;  // an event, or a late reply
        if (reply.contains("error"))
          throw std::runtime_error(method + ": " + reply["error"].dump());
        return reply["result"];
      }
      if (Clock::now() > end) throw std::runtime_error(method + ": no reply");
      pollfd fd{from_, POLLIN, 0};
      if (poll(&fd, 1, 100) <= 0) continue;
      char chunk[65536];
      const ssize_t n = read(from_, chunk, sizeof chunk);
      if (n <= 0) throw std::runtime_error("Chromium exited");
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  // The value of a JavaScript expression in the page (promises awaited).
  nlohmann::json eval(const std::string& expression) {
    const auto result =
        call("Runtime.evaluate",
             {{"expression", expression}, {"returnByValue", true}, {"awaitPromise", true}});
    if (result.contains("exceptionDetails")) {
      throw std::runtime_error(expression + ": " + result["exceptionDetails"].dump());
    }
    return result["result"].value("value", nlohmann::json());
  }

  // Polls until the expression is true; false after `seconds`.
  bool wait_for(const std::string& expression, double seconds) {
    const auto end = Clock::now() + std::chrono::duration<double>(seconds);
    while (Clock::now() < end) {
      if (eval(expression) == true) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }

 private:
  pid_t pid_ = -1;
  int to_ = -1, from_ = -1;
  int next_id_ = 1;
  std::string buffer_;
  std::string session_;
};

std::vector<unsigned char> from_base64(const std::string& text) {
  std::vector<unsigned char> bytes(text.size() / 4 * 3 + 3);
  const int n = EVP_DecodeBlock(bytes.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return {};
  bytes.resize(static_cast<size_t>(n) - (text.size() >= 2 && text.end()[-1] == '=') -
               (text.size() >= 2 && text.end()[-2] == '='));
  return bytes;
}

cv::Mat decode(const std::string& bytes) {
  return cv::imdecode(std::vector<unsigned char>(bytes.begin(), bytes.end()), cv::IMREAD_UNCHANGED);
}

struct Serve : ::testing::Test {
  // One calibration of the default model (x2) for the suite: 49 crops of two sample photos.
  static void SetUpTestSuite() {
    folder_ = new TempDir();
    const auto photos = folder_->path() / "calibration";
    fs::create_directories(photos);
    for (const char* name : {"astronaut.png", "coffee.png"})
      fs::copy_file(sample(name), photos / name);
    calibration_ = folder_->path() / "calibration.json";
    const auto command = std::string(SRKIT_BINARY) + " calibrate --model default --data " +
                         photos.string() + " --crop 96 --alpha 0.1,0.2 -q -o " +
                         calibration_.string();
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  static void TearDownTestSuite() { delete folder_; }

  static TempDir* folder_;
  static fs::path calibration_;
  TempDir dir;
};
TempDir* Serve::folder_ = nullptr;
fs::path Serve::calibration_;

TEST_F(Serve, APhotoUploadedInChromiumComesBackUpscaledWithItsConfidenceMask) {
  Server server(dir, {"--calibration", calibration_.string(), "--models", "default,bicubic"});
  const auto photo = dir / "butterfly.png";  // 256x256 -> 512x512
  fs::copy_file(sample("butterfly.png"), photo);

  Browser browser(dir / "chromium");
  browser.call("Page.enable");
  browser.call("Page.navigate", {{"url", server.url()}});
  ASSERT_TRUE(browser.wait_for("document.body && document.body.dataset.state === 'ready'", 60))
      << browser.eval("document.body && document.body.dataset.state");
  EXPECT_EQ(browser.eval("document.getElementById('model').value"), "default")
      << "the calibrated model is chosen first";
  EXPECT_EQ(browser.eval("document.getElementById('mask').disabled"), false);

  const auto root = browser.call("DOM.getDocument", {{"depth", 0}})["root"]["nodeId"];
  const auto input =
      browser.call("DOM.querySelector", {{"nodeId", root}, {"selector", "#file"}})["nodeId"];
  browser.call("DOM.setFileInputFiles", {{"nodeId", input}, {"files", {photo.string()}}});
  browser.eval("document.getElementById('file').dispatchEvent(new Event('change'))");
  browser.eval("document.getElementById('mask').checked = true");
  browser.eval("document.getElementById('go').click()");
  ASSERT_TRUE(browser.wait_for("['done', 'failed'].includes(document.body.dataset.state)", 300));
  ASSERT_EQ(browser.eval("document.body.dataset.state"), "done")
      << browser.eval("document.getElementById('message').textContent") << read_text(server.log);

  const auto sizes = browser.eval(
      "['after', 'before'].map(id => document.getElementById(id)).map(i => [i.naturalWidth, "
      "i.naturalHeight])");
  EXPECT_EQ(sizes, nlohmann::json::parse("[[512, 512], [256, 256]]"));
  EXPECT_NE(browser.eval("document.getElementById('facts').textContent")
                .get<std::string>()
                .find("of the pixels trusted at"),
            std::string::npos);
  EXPECT_EQ(browser.eval("document.getElementById('download').download"), "butterfly_x2.png");

  // The mask overlay, toggled on and off.
  browser.eval("document.getElementById('show-mask').click()");
  ASSERT_TRUE(browser.wait_for("document.body.dataset.view === 'overlay'", 30));
  EXPECT_TRUE(browser.eval("document.getElementById('after').src.endsWith('/overlay.png')"));
  EXPECT_EQ(browser.eval("document.getElementById('after').naturalWidth"), 512);
  const auto shot = browser.call("Page.captureScreenshot", {{"format", "png"}});
  const auto png = from_base64(shot["data"].get<std::string>());
  ASSERT_FALSE(cv::imdecode(png, cv::IMREAD_COLOR).empty()) << "a screenshot of the page";
  if (const char* keep = std::getenv("SRKIT_SERVE_SCREENSHOT")) {
    std::ofstream(keep, std::ios::binary)
        .write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
  }
  browser.eval("document.getElementById('show-mask').click()");
  ASSERT_TRUE(browser.wait_for("document.body.dataset.view === 'output'", 30));

  // What the page showed is srkit upscale's output, bit for bit, and the mask is binary.
  const auto src = browser.eval("document.getElementById('after').src").get<std::string>();
  auto client = server.client();
  const auto served = client.Get(src.substr(src.find("/api/")));
  ASSERT_TRUE(served && served->status == 200);
  const auto cli_output = dir / "cli.png";
  const auto command = std::string(SRKIT_BINARY) + " upscale " + photo.string() + " -o " +
                       cli_output.string() + " --model default -q";
  ASSERT_EQ(std::system(command.c_str()), 0);
  const auto expected = cv::imread(cli_output.string(), cv::IMREAD_UNCHANGED);
  const auto got = decode(served->body);
  ASSERT_EQ(got.size(), expected.size());
  EXPECT_EQ(cv::norm(got, expected, cv::NORM_INF), 0) << "the served output is srkit upscale's";
  const auto mask_url =
      src.substr(src.find("/api/"), src.rfind('/') - src.find("/api/")) + "/mask.png";
  const auto mask = client.Get(mask_url);
  ASSERT_TRUE(mask && mask->status == 200) << mask_url;
  const auto mask_pixels = decode(mask->body);
  ASSERT_EQ(mask_pixels.size(), cv::Size(512, 512));
  EXPECT_EQ(cv::countNonZero((mask_pixels != 0) & (mask_pixels != 255)), 0) << "a binary mask";

  // Nothing the client sent was written to disk: the server's folder holds only its log.
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir.path()))
    files.push_back(entry.path().filename());
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"butterfly.png", "chromium", "cli.png", "serve.log"}));
  EXPECT_EQ(server.process.stop(SIGINT, 20), 0) << "Ctrl-C stops it cleanly";
}

// A small PNG made in memory, for jobs that should run quickly.
std::string tiny_png(int side) {
  cv::Mat pixels(side, side, CV_8UC3);
  cv::randu(pixels, 0, 255);
  std::vector<unsigned char> bytes;
  cv::imencode(".png", pixels, bytes);
  return {bytes.begin(), bytes.end()};
}

httplib::MultipartFormDataItems form(const std::string& image, const std::string& filename,
                                     const std::string& model, const std::string& scale = "",
                                     const std::string& alpha = "") {
  httplib::MultipartFormDataItems items{{"image", image, filename, "image/png"},
                                        {"model", model, "", ""}};
  if (!scale.empty()) items.push_back({"scale", scale, "", ""});
  if (!alpha.empty()) items.push_back({"alpha", alpha, "", ""});
  return items;
}

std::string error_of(const httplib::Result& result) {
  return result ? nlohmann::json::parse(result->body).value("error", "") : "no response";
}

TEST_F(Serve, HostileRequestsGetClearErrorsAndTheServerKeepsServing) {
  Server server(dir, {"--calibration", calibration_.string(), "--models", "default,bicubic",
                      "--max-upload", "1M", "--queue", "2", "--max-input-pixels", "100000"});
  auto client = server.client();

  // Too large: refused from its Content-Length, before it is read.
  auto result = client.Post("/api/jobs", form(std::string(2 << 20, 'x'), "big.png", "bicubic"));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 413);
  EXPECT_NE(error_of(result).find("larger than this server takes"), std::string::npos);
  // Not a form.
  result = client.Post("/api/jobs", "{\"image\": \"/etc/passwd\"}", "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 415);
  EXPECT_NE(error_of(result).find("multipart/form-data"), std::string::npos);
  // A form without an image; a path for a name; text for an image; too many pixels.
  result = client.Post("/api/jobs", httplib::MultipartFormDataItems{{"model", "bicubic", "", ""}});
  EXPECT_EQ(result->status, 400);
  EXPECT_NE(error_of(result).find("no image"), std::string::npos);
  result = client.Post("/api/jobs",
                       form("root:x:0:0:root:/root:/bin/bash\n", "../../../etc/passwd", "bicubic"));
  EXPECT_EQ(result->status, 422);
  EXPECT_NE(error_of(result).find("passwd: cannot be decoded"), std::string::npos)
      << error_of(result);
  EXPECT_EQ(error_of(result).find("../"), std::string::npos) << "a base name only";
  result = client.Post("/api/jobs", form(tiny_png(400), "large.png", "bicubic"));
  EXPECT_EQ(result->status, 422);
  EXPECT_NE(error_of(result).find("more than this server takes"), std::string::npos);
  // Fields out of range, each named.
  for (const auto& [items, field] :
       std::vector<std::pair<httplib::MultipartFormDataItems, std::string>>{
           {form(tiny_png(16), "a.png", "no-such-model"), "model"},
           {form(tiny_png(16), "a.png", "esrgan-thick"), "not offered"},
           {form(tiny_png(16), "a.png", "default", "3"), "scale"},
           {form(tiny_png(16), "a.png", "default", "two"), "scale"},
           {form(tiny_png(16), "a.png", "default", "2", "-1"), "alpha"},
           {form(tiny_png(16), "a.png", "bicubic", "2", "0.1"), "no calibration"}}) {
    result = client.Post("/api/jobs", items);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 400) << field;
    EXPECT_NE(error_of(result).find(field), std::string::npos) << error_of(result);
  }
  // Paths that are not routes; a job that does not exist; another site's name for this host.
  for (const char* path : {"/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/api/jobs/../../x",
                           "/api/jobs/0123456789abcdef0123456789abcdef",
                           "/api/jobs/0123456789abcdef0123456789abcdef/output.png"}) {
    result = client.Get(path);
    ASSERT_TRUE(result) << path;
    EXPECT_GE(result->status, 400) << path;
    EXPECT_EQ(result->body.find("root:"), std::string::npos) << path;
  }
  result = client.Get("/", {{"Host", "attacker.example:80"}});
  EXPECT_EQ(result->status, 403) << "DNS rebinding: a page of another name is refused";

  // Many clients at once: every one is answered, a job accepted (202) or the queue full (503).
  std::atomic<int> accepted{0}, busy{0}, other{0};
  std::vector<std::string> ids(24);
  std::vector<std::thread> clients;
  const auto png = tiny_png(64);
  for (size_t i = 0; i < ids.size(); ++i) {
    clients.emplace_back([&, i] {
      auto c = server.client();
      const auto models = c.Get("/api/models");
      const auto r = c.Post("/api/jobs", form(png, "p.png", "default", "2", "0.1"));
      if (!models || models->status != 200 || !r) {
        ++other;
      } else if (r->status == 202) {
        ++accepted;
        ids[i] = nlohmann::json::parse(r->body)["id"];
      } else if (r->status == 503 && r->has_header("Retry-After")) {
        ++busy;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(other, 0);
  EXPECT_GE(accepted, 1);
  EXPECT_LE(accepted, 24);
  EXPECT_EQ(accepted + busy, 24);
  // The accepted jobs finish, and the server still serves.
  for (const auto& id : ids) {
    if (id.empty()) continue;
    std::string state;
    const auto end = Clock::now() + std::chrono::seconds(240);
    while (Clock::now() < end) {
      const auto status = client.Get("/api/jobs/" + id);
      ASSERT_TRUE(status && status->status == 200);
      state = nlohmann::json::parse(status->body)["state"];
      if (state == "done" || state == "failed") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    EXPECT_EQ(state, "done") << id;
  }
  result = client.Get("/");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_NE(result->body.find("<title>srkit</title>"), std::string::npos);
  EXPECT_TRUE(server.process.running());
  EXPECT_EQ(server.process.stop(SIGTERM, 20), 0);
}

TEST_F(Serve, ListeningBeyondLoopbackIsWarnedAbout) {
  Server server(dir, {"--host", "0.0.0.0", "--models", "bicubic"});
  const auto log = read_text(server.log);
  EXPECT_NE(log.find("warning: --host 0.0.0.0 lets other machines reach this server"),
            std::string::npos)
      << log;
  EXPECT_EQ(server.process.stop(SIGINT, 20), 0);
}

// A port already taken is a usage error naming it; the server holding it goes on serving.
TEST_F(Serve, APortInUseIsAUsageErrorNamingIt) {
  Server first(dir, {"--models", "bicubic"});
  const auto log = dir / "second.log";
  const auto command = std::string(SRKIT_BINARY) + " serve --models bicubic --port " +
                       std::to_string(first.port) + " 2>" + log.string();
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_NE(read_text(log).find("cannot listen on 127.0.0.1 port " + std::to_string(first.port)),
            std::string::npos)
      << read_text(log);
  const auto page = first.client().Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(first.process.stop(SIGINT, 20), 0);
}

// A calibration for a model --models leaves out would offer a mask the page cannot show.
TEST_F(Serve, ACalibrationOfAModelNotOfferedIsAUsageError) {
  const auto log = dir / "serve.log";
  const auto command = std::string(SRKIT_BINARY) + " serve --port 0 --calibration " +
                       calibration_.string() + " --models bicubic 2>" + log.string();
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_NE(read_text(log).find("is for default, which --models leaves out"), std::string::npos)
      << read_text(log);
}

}  // namespace
