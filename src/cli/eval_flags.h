// What `srkit eval` reads from its command line and how it pairs results with references, shared
// by its three modes: images against references (PSNR/SSIM/LSD, cmd_eval.cpp), guided tasks' own
// metrics (--task depth|pan|mri, eval_guided.cpp) and images alone (--no-reference: BRISQUE and
// NIQE, eval_no_reference.cpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "common.h"

namespace srkit::cli {

struct EvalArgs {
  std::vector<std::string> inputs;  // TEST REF, or with --no-reference the images to score
  std::string test;                 // inputs[0] and inputs[1] when comparing
  std::string reference;
  int64_t scale = 0;
  int64_t crop = -1;
  bool rgb = false;
  std::string task;   // guided: depth, pan or mri
  std::string slice;  // guided NIfTI inputs: AXIS:INDEX
  double peak = 0;    // guided pan/mri: the value that maps to 1 (0 = the task's default)
  std::string csv;
  bool no_reference = false;
  std::string niqe_model;  // --no-reference: the pristine model (default: the one srkit ships)
  std::string fit_niqe;    // write a NIQE pristine model fitted on the inputs to this file
  CommonFlags common;
};

struct EvalPair {
  std::filesystem::path test, reference;
};

// One pair for two files; for two folders, every file of the test folder that `accept` takes,
// paired with the reference of the same name (extension aside). Test files without a reference
// are listed in `unmatched`.
std::vector<EvalPair> pair_inputs(const EvalArgs& args,
                                  const std::function<bool(const std::filesystem::path&)>& accept,
                                  std::vector<std::string>& unmatched);

// Benchmarks crop HR to a multiple of the scale before downscaling; a reference larger than the
// test by less than the scale is cropped the same way (bottom and right). Any other size
// difference is an input Error naming `path`.
torch::Tensor align_reference(const torch::Tensor& reference, const torch::Tensor& test,
                              int64_t scale, const std::filesystem::path& path);

// Runs `evaluate` on every pair; a pair that throws (a srkit or LibTorch error) is reported with
// its file's name and counted in `failed`, and the others go on.
void evaluate_pairs(const std::vector<EvalPair>& pairs,
                    const std::function<void(const EvalPair&)>& evaluate, int& failed);

// --no-reference (and --fit-niqe): BRISQUE and NIQE of each image and their mean.
int run_no_reference_eval(const EvalArgs& args);

// --task: the guided task's metrics (metrics/guided_metrics.h) per pair and their mean.
int run_guided_eval(const EvalArgs& args);

}  // namespace srkit::cli
