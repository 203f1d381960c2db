// NumPy arrays from .npy files and .npz archives (numpy.save / savez / savez_compressed), as
// float32 tensors of the stored shape. Real depth data ships this way (the Middlebury disparity in
// scikit-image: motorcycle_disp.npz, key arr_0).
//
//   torch::Tensor disparity = srkit::read_npz("motorcycle_disp.npz", "arr_0");  // [H, W], NaN =
//   unknown
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <torch/types.h>

namespace srkit {

// Parses the bytes of one .npy file (format 1.0-3.0; little- or big-endian bool, integer and
// float types; C or Fortran order). `name` is used in error messages.
torch::Tensor parse_npy(const std::vector<char>& bytes, const std::string& name);

torch::Tensor read_npy(const std::filesystem::path& path);

// The array stored under `key` ("arr_0" for positional savez arguments); an input Error listing the
// keys when it is absent.
torch::Tensor read_npz(const std::filesystem::path& path, const std::string& key);
std::vector<std::string> npz_keys(const std::filesystem::path& path);

// Writes `array` (any shape) as a little-endian float32 .npy file (format 1.0, C order),
// atomically; refuses to replace an existing file unless `overwrite`.
void write_npy(const std::filesystem::path& path, const torch::Tensor& array,
               bool overwrite = false);

}  // namespace srkit
