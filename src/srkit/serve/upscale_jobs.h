// The work behind `srkit serve`: uploaded photos wait in a small queue and one worker upscales
// them, one at a time, with the model, scale and (where a calibration allows it) confidence mask
// each asked for. Everything stays in memory: an upload is decoded from its bytes and each result
// is kept as a PNG until it is fetched or pushed out by newer jobs. No torch types here, so the
// HTTP side (web_server.h) is built without LibTorch's headers.
//
//   srkit::serve::UpscaleJobs jobs(options);      // loads the calibrations, starts the worker
//   std::string id = jobs.submit({bytes, "photo.jpg", "default", 2, 0.1});
//   auto status = jobs.status(id);                // queued, running (progress), done or failed
//   auto png = jobs.result(id, "output");         // once done
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace srkit::serve {

struct JobsOptions {
  std::vector<std::string> models;  // registered names offered; empty = every installed one
  std::vector<std::filesystem::path> calibrations;  // each enables masks for its model and scale
  std::string device = "cpu";
  int64_t max_memory = 0;              // bytes one job may hold (UpscaleOptions); 0 = the default
  int64_t max_input_pixels = 4000000;  // an upload with more pixels is refused
  size_t capacity = 4;                 // jobs queued or running at once; more are refused
  size_t kept = 8;                     // finished jobs whose results are kept
};

struct JobRequest {
  std::vector<unsigned char> image;  // the uploaded file's bytes
  std::string name;                  // what errors call it; never a path that is opened
  std::string model;
  double scale = 0;  // 0 = the model's native scale (4 when it has several)
  double alpha = 0;  // > 0: a confidence mask at this level (needs a calibration)
};

enum class JobState { kQueued, kRunning, kDone, kFailed };

struct JobStatus {
  JobState state = JobState::kQueued;
  double progress = 0;    // of the running job, 0..1
  size_t position = 0;    // jobs ahead of a queued one
  std::string error;      // why it failed
  nlohmann::json result;  // of a done job: width, height, seconds, trusted_fraction, ...
};

std::string to_string(JobState state);

// submit() when `capacity` jobs are already queued or running.
class QueueFull : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class UpscaleJobs {
 public:
  // Throws a usage Error naming a calibration file that cannot be used or a model not installed.
  explicit UpscaleJobs(JobsOptions options);
  ~UpscaleJobs();  // the running job is cancelled, the queued ones dropped
  UpscaleJobs(const UpscaleJobs&) = delete;
  UpscaleJobs& operator=(const UpscaleJobs&) = delete;

  // The models, their scales, which are calibrated (and at which alphas), and the limits.
  const nlohmann::json& catalogue() const { return catalogue_; }

  // Checks and decodes the request, queues it and returns its id (32 random hex digits). Throws a
  // usage Error (unknown model, scale, alpha without a calibration), an input Error (not an image,
  // too many pixels) or QueueFull.
  std::string submit(JobRequest request);

  std::optional<JobStatus> status(const std::string& id) const;

  // A done job's "output", "mask" or "overlay" PNG; null when there is none (unknown id, not done,
  // no mask asked for).
  std::shared_ptr<const std::vector<unsigned char>> result(const std::string& id,
                                                           const std::string& what) const;

 private:
  struct Job;
  struct Engine;  // the opened models and calibrations, used by the worker only

  void work();

  JobsOptions options_;
  nlohmann::json catalogue_;
  std::unique_ptr<Engine> engine_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;  // queued, running and the kept finished
  std::deque<std::string> finished_;                  // oldest first
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace srkit::serve
