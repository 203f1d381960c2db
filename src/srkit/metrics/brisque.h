// BRISQUE (Mittal, Moorthy and Bovik, "No-reference image quality assessment in the spatial
// domain", IEEE TIP 2012): a no-reference score, 0 (best) to 100 (worst), computed by OpenCV's
// quality module with the support-vector model trained on LIVE that Debian's opencv-doc ships
// (examples/quality/brisque_model_live.yml and brisque_range_live.yml; scripts/setup.sh puts them
// in data/quality/).
//
//   srkit::Brisque brisque;                       // the default model files
//   double score = brisque.score(image);          // [C,H,W] in [0,1]
#pragma once

#include <filesystem>
#include <memory>

#include <torch/types.h>

namespace srkit {

class Brisque {
 public:
  // Loads the model; a missing or unreadable file is a setup Error naming it.
  Brisque(const std::filesystem::path& model_file = default_model_file(),
          const std::filesystem::path& range_file = default_range_file());
  ~Brisque();
  Brisque(const Brisque&) = delete;
  Brisque& operator=(const Brisque&) = delete;

  // The score of the image as an 8-bit gray picture (BT.601 luma, rounded), as BRISQUE was
  // trained: alpha is ignored, 16-bit images are reduced to 8 bits.
  double score(const torch::Tensor& image);

  static std::filesystem::path default_model_file();  // data/quality/brisque_model_live.yml
  static std::filesystem::path default_range_file();  // data/quality/brisque_range_live.yml

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace srkit
