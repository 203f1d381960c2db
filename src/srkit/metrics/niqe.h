// NIQE (Mittal, Soundararajan and Bovik, "Making a 'completely blind' image quality analyzer",
// IEEE SPL 2013): a no-reference score, lower is more natural. Natural-scene statistics of
// mean-subtracted contrast-normalised luminance (MSCN) are measured on 96x96 patches at two
// scales (36 features a patch) and fitted with a multivariate Gaussian; the score is the distance
// between the image's Gaussian and one fitted on pristine photos:
//   sqrt((mu_p - mu_i)^T pinv((S_p + S_i) / 2) (mu_p - mu_i)).
//
//   auto model = srkit::read_niqe_model(srkit::default_niqe_model_path());
//   double score = srkit::niqe(image, model, "photo.png");   // [C,H,W] in [0,1]
//
// The pristine model is srkit's own (no published one ships here): fit_niqe() on the photos
// docs/models.md names; scores are comparable with each other, not with MATLAB's niqe().
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <torch/types.h>

namespace srkit {

struct NiqeOptions {
  int64_t patch_size = 96;            // at the first scale; the second scale uses half
  double sharpness_threshold = 0.75;  // fitting keeps patches above this fraction of the sharpest
  // Fitting first averages each photo over k x k blocks, the smallest integer k that brings its
  // shorter side to at most this many pixels: camera noise and JPEG artefacts vanish, as pristine
  // statistics need (0: as given).
  int64_t fit_max_short_side = 1536;
};

struct NiqeModel {
  torch::Tensor mean;        // [36] float64
  torch::Tensor covariance;  // [36, 36] float64
  int64_t patches = 0;       // how many patches it was fitted on
  std::string description;   // what it was fitted on
};

// Luminance 0..255 of an image in [0,1] ([C,H,W]): 0.299 R + 0.587 G + 0.114 B, as MATLAB's
// rgb2gray that NIQE was defined with; gray is scaled; alpha is ignored.
torch::Tensor niqe_luminance(const torch::Tensor& image);

// Moment-matching fits of each row of samples [N, P] (BRISQUE's and NIQE's estimators; the shape
// is searched on a grid 0.2..10, step 0.001):
// a generalised Gaussian, density ~ exp(-(|x|/b)^shape): [N, 2] = shape, variance;
torch::Tensor fit_ggd(const torch::Tensor& samples);
// an asymmetric one with scales b_l (x < 0) and b_r (x > 0): [N, 4] = shape, mean, E[x^2 | x<0],
// E[x^2 | x>0].
torch::Tensor fit_aggd(const torch::Tensor& samples);

// The 36 features of every complete patch of a luminance image ([H,W], 0..255), [N, 36] float64.
// With sharp_only, only patches whose mean local deviation exceeds options.sharpness_threshold
// times the image's largest are kept (the pristine selection). Patches whose statistics are not
// finite (perfectly flat ones) are dropped.
torch::Tensor niqe_patch_features(const torch::Tensor& luminance, const NiqeOptions& options,
                                  bool sharp_only);

// Fits the pristine model on images ([C,H,W] in [0,1]). Throws an input Error when they give
// fewer patches than features.
NiqeModel fit_niqe(const std::vector<torch::Tensor>& images, const std::string& description,
                   const NiqeOptions& options = {});

// The score of `image` against `model`. Throws an input Error naming `source` and the size when
// the image holds fewer than two patches (192x96 pixels at the default patch size).
double niqe(const torch::Tensor& image, const NiqeModel& model, const std::string& source = "image",
            const NiqeOptions& options = {});

// The model as JSON (mean, covariance, patches, description). Reading checks the shapes and
// throws a setup Error naming the file.
NiqeModel read_niqe_model(const std::filesystem::path& path);
void write_niqe_model(const std::filesystem::path& path, const NiqeModel& model);

// models/niqe/pristine.json under models_root(): the model srkit ships.
std::filesystem::path default_niqe_model_path();

}  // namespace srkit
