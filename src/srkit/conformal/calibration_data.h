// The exchangeable units of calibration and evaluation: high-resolution images from a folder (or
// equal crops of them), each with its low-resolution input made by MATLAB-compatible bicubic
// downscaling and rounded to the source's bit depth, as a saved LR file would be; or LR files
// given beside them. The guarantee holds for test units made the same way, so the unit size is
// recorded in the calibration file.
//
//   srkit::conformal::UnitOptions options{.scale = 4, .crop = 128};
//   for (auto& file : srkit::list_image_files("photos/"))
//     for (auto& unit : srkit::conformal::image_units(file, options)) { ... unit.lr, unit.hr ... }
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <torch/types.h>
#include <nlohmann/json.hpp>

namespace srkit::conformal {

struct UnitOptions {
  int64_t scale = 4;
  int64_t crop = 0;                 // HR side of square crops (a multiple of scale); 0 = whole
  std::filesystem::path lr_folder;  // LR files with the same stems; empty = make LR by bicubic
};

struct ImageUnit {
  std::string name;  // file stem, plus "@y,x" for a crop
  torch::Tensor lr, hr;
};

// The units of one HR file. Throws an input Error naming the file when it cannot be read, is
// smaller than one unit, or its LR file is missing or of the wrong size.
std::vector<ImageUnit> image_units(const std::filesystem::path& hr_file,
                                   const UnitOptions& options);

// For the calibration file: folder, unit size, how LR was made.
nlohmann::json describe_units(const std::filesystem::path& folder, const UnitOptions& options,
                              int64_t files, int64_t units);

}  // namespace srkit::conformal
