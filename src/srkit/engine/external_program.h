// Any upscaler as a black box: an external program run once per image, e.g.
//   realesrgan-ncnn-vulkan -i {in} -o {out} -s 4
// srkit writes the input as an 8-bit PNG at {in}, runs the command through /bin/sh with {in} and
// {out} replaced by quoted paths, and reads {out} back. Transforms (conformal test-time
// augmentation) are applied outside the program, so it needs no support for them.
//
//   srkit::ExternalUpscaler program("my-upscaler {in} {out}", 4.0, {});
//   torch::Tensor hr = program(lr);   // throws an input Error naming the command on any failure
#pragma once

#include <functional>
#include <string>

#include <torch/types.h>

#include "srkit/core/progress.h"

namespace srkit {

struct ExternalProgramOptions {
  double timeout_seconds = 600;           // per run; the program is killed after it
  // Polled while waiting with the milliseconds elapsed and allowed; false kills the program and
  // cancels (an Error of kind kCancelled).
  ProgressFn progress = {};
};

class ExternalUpscaler {
 public:
  // Throws a usage Error when the command lacks {in} or {out}.
  ExternalUpscaler(std::string command, double scale, ExternalProgramOptions options);

  // [C,H,W] in [0,1] -> [3, round(H*scale), round(W*scale)] in [0,1] (gray output is taken as
  // R=G=B; an alpha channel is dropped).
  torch::Tensor operator()(const torch::Tensor& lr) const;

  const std::string& command() const { return command_; }

 private:
  std::string command_;
  double scale_;
  ExternalProgramOptions options_;
};

}  // namespace srkit
