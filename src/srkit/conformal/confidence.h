// A prediction with its uncertainty score: the plain output of an upscaler plus the score map from
// M test-time-augmented outputs. The settings travel in the calibration file, so calibration and
// every later upscale compute the score the same way (which the guarantee requires).
//
//   srkit::conformal::ConfidenceSettings settings;           // 8 samples, Lab variance, Lab error
//   auto scored = srkit::conformal::predict_with_score(upscaler, lr, 4.0, settings);
//   auto mask = srkit::conformal::trusted_mask(scored.score, threshold);
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include "srkit/conformal/fidelity.h"
#include "srkit/conformal/scores.h"
#include "srkit/core/progress.h"
#include "srkit/models/model.h"
#include "srkit/ops/test_time_augmentation.h"

namespace srkit::conformal {

struct ConfidenceSettings {
  EnsembleOptions ensemble;
  ScoreOptions score;
  FidelityOptions fidelity;
};

nlohmann::json to_json(const ConfidenceSettings& settings);
// Throws a c10::Error naming the missing or bad field.
ConfidenceSettings confidence_settings_from_json(const nlohmann::json& json);

struct ScoredPrediction {
  torch::Tensor prediction;  // the upscaler's output for the plain input, [C,H',W']
  torch::Tensor score;       // [H',W'], higher = less trustworthy
};

// Runs the upscaler M times (progress: samples done of M) and scores the spread of the outputs.
// A usage Error for seeded settings (a generative model's: use the sampler's form below).
ScoredPrediction predict_with_score(const UpscaleFn& upscaler, const torch::Tensor& lr,
                                    double scale, const ConfidenceSettings& settings,
                                    const ProgressFn& progress = {});

// A generative model's sample of `seed` for an input (engine/upscaler.h's SamplingFn, bound).
using SampleFn = std::function<torch::Tensor(const torch::Tensor& lr, uint64_t seed)>;

// The same for a sampler: the prediction is the sample of `seed` (the one delivered), and with
// seeded settings sample k is drawn with seed + k (the spread of the model's own samples, seed
// 003's sigma^K); without, every sample uses `seed`.
ScoredPrediction predict_with_score(const SampleFn& sampler, uint64_t seed, const torch::Tensor& lr,
                                    double scale, const ConfidenceSettings& settings,
                                    const ProgressFn& progress = {});

// The same a window of the input at a time, for images whose M outputs do not fit in memory: the
// input is cut into windows of `window` x `window` pixels, each upscaled M times with `context`
// pixels of the image around it, and the kept part of its prediction and score is handed on a
// band of output rows at a time, top to bottom. The scores are local (patch variance, smoothing,
// shifts), so with `context` at least the upscaler's receptive radius each pixel's prediction and
// score are those of the whole image up to rounding (and exactly those when one window covers
// the image). Only settings whose score is local can be windowed (scores_locally).
struct ScoringWindows {
  int64_t window = 0;   // side of a window's kept part, input pixels; 0 = one window, the image
  int64_t context = 0;  // input pixels around each window the upscaler needs (receptive radius)
};

// Rows [from, to) of the input, [C, to - from, W]: values in [0,1], or 8/16-bit samples; `from`
// never moves up from one call to the next.
using InputRowsFn = std::function<torch::Tensor(int64_t from, int64_t to)>;
// Output rows from `first_row` on: the prediction [C, n, W'] and its score [n, W'].
using ScoredRowsFn = std::function<void(const torch::Tensor& prediction, const torch::Tensor& score,
                                        int64_t first_row)>;

// `height` x `width`: the input's size; `scale` an integer (window edges must fall on output
// pixels). Progress counts samples over all windows. A usage Error when the settings are not
// local or the scale is not an integer.
void predict_with_score_in_bands(const UpscaleFn& upscaler, int64_t height, int64_t width,
                                 const InputRowsFn& rows, double scale,
                                 const ConfidenceSettings& settings, const ScoringWindows& windows,
                                 const ScoredRowsFn& sink, const ProgressFn& progress = {});

// Whether every pixel's score depends only on a neighbourhood: no input noise (drawn for the whole
// image from one seed) and no clipping at a quantile of the whole map.
bool scores_locally(const ConfidenceSettings& settings);

// Input pixels of context the score itself needs around a window at `scale`: the shifts, their
// bicubic taps, the patch and the smoothing, on top of the upscaler's own.
int64_t score_context(const ConfidenceSettings& settings, double scale);

// Bytes predict_with_score holds per output pixel while scoring, an upper estimate for planning
// windows: the prediction and a sample (float32, 12 bytes each with their restored copies), the
// moments (32, float64) and their temporaries (colour planes, squares, box means: about 120).
// bench/gigapixel_masks.sh checks the peak of whole runs against --max-memory.
constexpr int64_t kScoringBytesPerOutputPixel = 192;

// Rows of a scored band a caller should turn into masks and overlays at a time, and the bytes per
// output pixel that takes (the mask, the overlay and their temporaries, the writers' samples);
// plan_scoring_windows counts that many rows of them beside the band.
constexpr int64_t kScoredRowsAtOnce = 64;
constexpr int64_t kRowOutputBytesPerPixel = 64;

// What a windowed scoring may use when `held_bytes` of `max_memory` are held elsewhere: half of
// the rest. The model's passes get the other half (UpscaleOptions::held_bytes = held + this).
inline int64_t scoring_budget(int64_t max_memory, int64_t held_bytes) {
  return std::max<int64_t>(max_memory - held_bytes, 0) / 2;
}

// The largest windows whose scoring and band of output rows fit in `budget` bytes for an input of
// `height` x `width` x `channels` at an integer `scale`: one window (0) when the whole image fits;
// never under 32 pixels. `context` as in ScoringWindows.
ScoringWindows plan_scoring_windows(int64_t height, int64_t width, int64_t channels, double scale,
                                    const ConfidenceSettings& settings, int64_t context,
                                    int64_t budget);

// The trusted pixels, score < threshold: [H,W] bool.
torch::Tensor trusted_mask(const torch::Tensor& score, float threshold);

// The worst error inside the mask; 0 when the mask is empty (the loss the guarantee bounds).
double worst_error_in_mask(const torch::Tensor& fidelity, const torch::Tensor& mask);

// The image [C,H,W] with untrusted pixels tinted red (half-way), as RGB.
torch::Tensor untrusted_overlay(const torch::Tensor& image, const torch::Tensor& mask);

}  // namespace srkit::conformal
