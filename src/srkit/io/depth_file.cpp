#include "srkit/io/depth_file.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <limits>

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/io/image_io.h"
#include "srkit/io/numpy_file.h"

namespace srkit {
namespace {

uint32_t little_endian_u32(const unsigned char* p) {
  return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

torch::Tensor read_visp_depth(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char header[8];
  if (!in.read(reinterpret_cast<char*>(header), 8)) {
    throw input_error(path.string(), "is not a ViSP depth file (no header)");
  }
  const int64_t height = little_endian_u32(header), width = little_endian_u32(header + 4);
  if (height <= 0 || width <= 0 || height * width > (int64_t{1} << 31)) {
    throw input_error(path.string(), "is not a ViSP depth file (implausible size)");
  }
  std::vector<unsigned char> raw(static_cast<size_t>(height * width * 2));
  if (!in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(raw.size()))) {
    throw input_error(path.string(), "is a truncated ViSP depth file");
  }
  auto depth = torch::empty({height, width}, torch::kFloat32);
  auto* out = depth.data_ptr<float>();
  for (int64_t i = 0; i < height * width; ++i)
    out[i] = static_cast<float>(raw[2 * i] | (raw[2 * i + 1] << 8));
  return depth;
}

// Non-finite values are NaN (unknown) whatever they were.
torch::Tensor unknown_as_nan(const torch::Tensor& depth) {
  return torch::where(torch::isfinite(depth), depth,
                      torch::full({}, std::numeric_limits<float>::quiet_NaN()));
}

}  // namespace

torch::Tensor depth_from_image(const Image& image) {
  auto depth = image.pixels[0].to(torch::kFloat32);
  if (image.bit_depth == 8 || image.bit_depth == 16) {
    depth = (depth * static_cast<float>((1 << image.bit_depth) - 1)).round();  // stored integers
  }
  return unknown_as_nan(depth.contiguous());
}

torch::Tensor read_depth_map(const std::filesystem::path& path) {
  const auto extension = path.extension().string();
  torch::Tensor depth;
  if (extension == ".bin") {
    depth = read_visp_depth(path);
  } else if (extension == ".npy") {
    depth = read_npy(path);
  } else if (extension == ".npz") {
    const auto keys = npz_keys(path);
    const bool has_default = std::find(keys.begin(), keys.end(), "arr_0") != keys.end();
    if (!has_default && keys.size() != 1) {
      throw input_error(path.string(), "holds several arrays and none is arr_0",
                        "save the depth map alone");
    }
    depth = read_npz(path, has_default ? "arr_0" : keys.front());
  } else {
    return depth_from_image(read_image(path));
  }
  if (depth.dim() == 3 && depth.size(2) == 1) depth = depth.squeeze(2);
  if (depth.dim() != 2) {
    throw input_error(path.string(),
                      "is not a 2-D depth map (shape " + c10::str(depth.sizes()) + ")");
  }
  return unknown_as_nan(depth.to(torch::kFloat32).contiguous());
}

}  // namespace srkit
