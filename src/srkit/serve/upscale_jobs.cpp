#include "srkit/serve/upscale_jobs.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <random>

#include <torch/torch.h>

#include "srkit/conformal/calibration_file.h"
#include "srkit/conformal/confidence.h"
#include "srkit/core/error.h"
#include "srkit/core/runtime.h"
#include "srkit/engine/upscaler.h"
#include "srkit/io/image_bytes.h"
#include "srkit/models/registry.h"

namespace srkit::serve {

std::string to_string(JobState state) {
  switch (state) {
    case JobState::kQueued:
      return "queued";
    case JobState::kRunning:
      return "running";
    case JobState::kDone:
      return "done";
    case JobState::kFailed:
      return "failed";
  }
  return "failed";
}

struct UpscaleJobs::Job {
  std::string id;
  std::string model;
  double scale = 0;
  double alpha = 0;
  Image image;  // decoded at submit; released once the job has run
  std::atomic<double> progress{0};
  JobState state = JobState::kQueued;
  std::string error;
  nlohmann::json result;
  std::map<std::string, std::shared_ptr<const std::vector<unsigned char>>> files;
};

namespace {

// The scale a request runs at: its own, or the model's (4 when it has several), as open_upscaler.
double resolved_scale(const ModelEntry& entry, double scale) {
  if (scale > 0) return scale;
  const auto& s = entry.scales;
  return static_cast<double>(std::find(s.begin(), s.end(), 4) != s.end() ? 4 : s.front());
}

std::string random_id() {
  std::random_device source;
  std::uniform_int_distribution<int> nibble(0, 15);
  std::string id(32, '0');
  for (auto& c : id) c = "0123456789abcdef"[nibble(source)];
  return id;
}

}  // namespace

struct UpscaleJobs::Engine {
  explicit Engine(const std::string& device_name) : device(parse_device(device_name)) {}

  // The upscaler of one model and scale; the last one opened stays open for the next job.
  Upscaler& upscaler(const std::string& model, double scale) {
    const auto key = model + "@" + std::to_string(scale);
    if (!open || open_key != key) {
      open.reset();  // its weights are freed before the next model's are loaded
      UpscalerChoice choice;
      choice.model = model;
      choice.scale = scale;
      choice.options.max_memory = max_memory;
      open = std::make_unique<Upscaler>(open_upscaler(choice, device));
      open_key = key;
    }
    return *open;
  }

  // The calibration for a model at a scale, or null.
  const conformal::Calibration* calibration(const std::string& model, double scale) const {
    for (const auto& c : calibrations) {
      if (c.model.value("name", "") == model && c.scale == scale) return &c;
    }
    return nullptr;
  }

  torch::Device device;
  int64_t max_memory = 0;
  std::vector<conformal::Calibration> calibrations;
  std::string open_key;
  std::unique_ptr<Upscaler> open;
};

UpscaleJobs::UpscaleJobs(JobsOptions options)
    : options_(std::move(options)), engine_(std::make_unique<Engine>(options_.device)) {
  if (options_.capacity < 1) throw usage_error("{{JobsOptions::capacity}} must be at least 1");
  engine_->max_memory =
      options_.max_memory > 0 ? options_.max_memory : default_memory_budget(engine_->device);
  for (const auto& path : options_.calibrations) {
    conformal::Calibration calibration;
    try {
      calibration = conformal::load_calibration(path);
    } catch (const Error& e) {
      throw Error(e.kind(), "{{calibrations}}: " + std::string(e.what()));
    }
    if (!calibration.model.contains("name")) {
      throw usage_error(path.string() +
                        " was calibrated for an external program; {{calibrations}} "
                        "of srkit serve must be for one of srkit's registered models");
    }
    const auto name = calibration.model["name"].get<std::string>();
    find_model(name);  // a usage Error listing the known names
    const auto& wanted = options_.models;
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), name) == wanted.end()) {
      throw usage_error("{{calibrations}} " + path.string() + " is for " + name +
                        ", which {{models}} leaves out: add it, or leave the calibration out");
    }
    const auto& upscaler = engine_->upscaler(name, calibration.scale);
    conformal::check_same_model(calibration, path, upscaler.identity, upscaler.scale);
    engine_->calibrations.push_back(std::move(calibration));
  }

  nlohmann::json models = nlohmann::json::array();
  std::string default_model;
  bool default_builtin = false;
  for (const auto& entry : known_models()) {
    const auto& wanted = options_.models;
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), entry.name) == wanted.end()) {
      continue;
    }
    nlohmann::json scales = nlohmann::json::array();
    for (const auto scale : entry.scales) {
      if (is_installed(entry, scale)) scales.push_back(scale);
    }
    if (scales.empty()) {
      if (!wanted.empty()) {
        throw setup_error("{{models}}: " + entry.name + " is not installed (run scripts/setup.sh)");
      }
      continue;
    }
    nlohmann::json calibrated = nlohmann::json::array();
    for (const auto& c : engine_->calibrations) {
      if (c.model["name"] != entry.name) continue;
      calibrated.push_back({{"scale", c.scale},
                            {"alphas", c.alphas},
                            {"images", c.images()},
                            {"crop", c.data.value("crop", int64_t{0})}});
    }
    models.push_back({{"name", entry.name},
                      {"architecture", entry.architecture},
                      {"scales", scales},
                      {"default_scale", resolved_scale(entry, 0)},
                      {"calibrated", calibrated}});
    // What srkit upscale runs by default when offered, else the first model that is not built in.
    const bool first_learned = !entry.builtin && (default_model.empty() || default_builtin);
    if (default_model.empty() || first_learned || entry.name == "realesrgan-x4fast") {
      default_model = entry.name;
      default_builtin = entry.builtin;
    }
  }
  for (const auto& name : options_.models) find_model(name);  // names none of the registered
  if (models.empty()) throw setup_error("no model is installed: run scripts/setup.sh");
  if (!engine_->calibrations.empty()) default_model = engine_->calibrations.front().model["name"];
  catalogue_ = {{"models", models},
                {"default_model", default_model},
                {"max_input_pixels", options_.max_input_pixels},
                {"capacity", options_.capacity}};
  worker_ = std::thread([this] { work(); });
}

UpscaleJobs::~UpscaleJobs() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

std::string UpscaleJobs::submit(JobRequest request) {
  const auto& entry = find_model(request.model);
  const auto& offered = catalogue_["models"];
  const auto listed = std::find_if(offered.begin(), offered.end(),
                                   [&](const auto& m) { return m["name"] == request.model; });
  if (listed == offered.end()) {
    throw usage_error("{{model}} " + request.model + " is not offered by this server");
  }
  if (request.scale < 0 || !std::isfinite(request.scale)) {
    throw usage_error("{{scale}} must be a positive number");
  }
  const double scale = resolved_scale(entry, request.scale);
  const auto& scales = (*listed)["scales"];
  if (std::find(scales.begin(), scales.end(), scale) == scales.end()) {
    throw usage_error("{{scale}} " + nlohmann::json(scale).dump() + ": " + request.model +
                      " offers " + scales.dump());
  }
  if (request.alpha < 0 || !std::isfinite(request.alpha)) {
    throw usage_error(
        "{{alpha}} must be a positive number (the fidelity error D, 0 to 3), or 0 "
        "for no mask");
  }
  if (request.alpha > 0 && !engine_->calibration(request.model, scale)) {
    throw usage_error("{{alpha}}: no calibration of " + request.model + " x" +
                      nlohmann::json(scale).dump() +
                      " was given to this server, so it cannot draw a confidence mask");
  }
  if (request.image.empty()) throw usage_error("{{image}}: no image was uploaded");

  auto job = std::make_shared<Job>();
  job->model = request.model;
  job->scale = scale;
  job->alpha = request.alpha;
  // Decoded here, before it waits: a broken upload is refused at once.
  job->image = decode_image(std::move(request.image), request.name);
  const auto& pixels = job->image.pixels;
  const int64_t count = pixels.size(1) * pixels.size(2);
  if (options_.max_input_pixels > 0 && count > options_.max_input_pixels) {
    throw input_error(request.name,
                      "has " + std::to_string(pixels.size(2)) + "x" +
                          std::to_string(pixels.size(1)) +
                          " pixels, more than this server takes (" +
                          std::to_string(options_.max_input_pixels) + ")",
                      "upscale it with srkit upscale, which streams large images");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  size_t active = queue_.size();
  for (const auto& [id, other] : jobs_) active += other->state == JobState::kRunning ? 1 : 0;
  if (active >= options_.capacity) {
    throw QueueFull(std::to_string(active) + " jobs are already queued or running");
  }
  do job->id = random_id();
  while (jobs_.count(job->id));
  jobs_[job->id] = job;
  queue_.push_back(job);
  wake_.notify_one();
  return job->id;
}

std::optional<JobStatus> UpscaleJobs::status(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto found = jobs_.find(id);
  if (found == jobs_.end()) return std::nullopt;
  const auto& job = *found->second;
  JobStatus status;
  status.state = job.state;
  status.progress = job.state == JobState::kDone ? 1.0 : job.progress.load();
  status.error = job.error;
  status.result = job.result;
  if (job.state == JobState::kQueued) {
    status.position = static_cast<size_t>(std::find(queue_.begin(), queue_.end(), found->second) -
                                          queue_.begin());
  }
  return status;
}

std::shared_ptr<const std::vector<unsigned char>> UpscaleJobs::result(
    const std::string& id, const std::string& what) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto found = jobs_.find(id);
  if (found == jobs_.end() || found->second->state != JobState::kDone) return nullptr;
  const auto file = found->second->files.find(what);
  return file == found->second->files.end() ? nullptr : file->second;
}

void UpscaleJobs::work() {
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = queue_.front();
      queue_.pop_front();
      job->state = JobState::kRunning;
    }
    const auto start = std::chrono::steady_clock::now();
    nlohmann::json result;
    std::map<std::string, std::shared_ptr<const std::vector<unsigned char>>> files;
    std::string error;
    try {
      const ProgressFn progress = [&](int64_t done, int64_t total) {
        if (total > 0) job->progress = static_cast<double>(done) / static_cast<double>(total);
        std::lock_guard<std::mutex> lock(mutex_);
        return !stopping_;
      };
      auto& upscaler = engine_->upscaler(job->model, job->scale);
      const auto& pixels = job->image.pixels;
      const int bit_depth = job->image.bit_depth == 16 ? 16 : 8;
      torch::Tensor prediction;
      if (job->alpha > 0) {
        const auto& calibration = *engine_->calibration(job->model, job->scale);
        const float threshold = conformal::threshold(calibration, job->alpha);
        const auto& settings = calibration.settings;
        torch::Tensor score;
        if (upscaler.scale == std::round(upscaler.scale) && conformal::scores_locally(settings)) {
          // A window of the input at a time when its M outputs would not fit; the prediction and
          // its score are kept whole (they are sent back whole).
          const int64_t height = pixels.size(1), width = pixels.size(2);
          prediction = torch::empty({pixels.size(0), scaled_size(height, upscaler.scale),
                                     scaled_size(width, upscaler.scale)});
          score = torch::empty({prediction.size(1), prediction.size(2)});
          const int64_t held = (prediction.numel() + score.numel()) * 4;
          const int64_t budget = conformal::scoring_budget(engine_->max_memory, held);
          const auto windows = conformal::plan_scoring_windows(
              height, width, pixels.size(0), upscaler.scale, settings, upscaler.context(), budget);
          auto options = upscaler.options;
          options.held_bytes = held + budget;
          const UpscaleFn run = [&](const torch::Tensor& lr) {
            return upscale(*upscaler.model, lr.to(engine_->device), options);
          };
          conformal::predict_with_score_in_bands(
              run, height, width,
              [&](int64_t from, int64_t to) { return pixels.slice(1, from, to); }, upscaler.scale,
              settings, windows,
              [&](const torch::Tensor& rows, const torch::Tensor& scores, int64_t first) {
                prediction.slice(1, first, first + rows.size(1)).copy_(rows);
                score.slice(0, first, first + scores.size(0)).copy_(scores);
              },
              progress);
          result["scoring_window"] = windows.window;
        } else {
          auto scored = conformal::predict_with_score(upscaler.run, pixels, upscaler.scale,
                                                      settings, progress);
          prediction = scored.prediction;
          score = scored.score;
        }
        const auto trusted = conformal::trusted_mask(score, threshold);
        score = torch::Tensor();
        result["alpha"] = job->alpha;
        result["threshold"] = conformal::threshold_to_json(threshold);
        result["trusted_fraction"] = trusted.to(torch::kFloat64).mean().item<double>();
        result["calibration_images"] = calibration.images();
        files["mask"] = std::make_shared<const std::vector<unsigned char>>(
            encode_png(trusted.to(torch::kFloat).unsqueeze(0), 8));
        files["overlay"] = std::make_shared<const std::vector<unsigned char>>(
            encode_png(conformal::untrusted_overlay(prediction, trusted), 8));
      } else {
        prediction =
            upscale(*upscaler.model, pixels.to(engine_->device), upscaler.options, progress);
      }
      files["output"] =
          std::make_shared<const std::vector<unsigned char>>(encode_png(prediction, bit_depth));
      result["model"] = job->model;
      result["scale"] = upscaler.scale;
      result["width"] = prediction.size(2);
      result["height"] = prediction.size(1);
      result["input_width"] = pixels.size(2);
      result["input_height"] = pixels.size(1);
      result["bit_depth"] = bit_depth;
      result["seconds"] =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::kCancelled) return;  // the server is stopping
      error = e.what();
    } catch (const std::exception& e) {
      error = std::string("internal error: ") + e.what();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    job->image = Image();
    job->state = error.empty() ? JobState::kDone : JobState::kFailed;
    job->error = error;
    job->result = std::move(result);
    job->files = std::move(files);
    finished_.push_back(job->id);
    while (finished_.size() > options_.kept) {
      jobs_.erase(finished_.front());
      finished_.pop_front();
    }
  }
}

}  // namespace srkit::serve
