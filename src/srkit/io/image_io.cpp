#include "srkit/io/image_io.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>

#include "srkit/core/error.h"
#include "srkit/io/exif_orientation.h"
#include "srkit/io/image_bytes.h"
#include "srkit/io/image_limits.h"
#include "srkit/io/image_writer.h"
#include "srkit/io/row_reader.h"
#include "srkit/io/silenced_stderr.h"

namespace srkit {
namespace {

bool is_jpeg(const std::vector<unsigned char>& bytes) {
  return bytes.size() > 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
}

bool is_tiff(const std::vector<unsigned char>& bytes) {
  return bytes.size() > 4 &&
         ((bytes[0] == 'I' && bytes[1] == 'I') || (bytes[0] == 'M' && bytes[1] == 'M'));
}

// libjpeg decodes a truncated file without failing (it fills the rest with grey), so a JPEG is
// checked for its end-of-image marker after the last start-of-scan marker.
bool jpeg_is_complete(const std::vector<unsigned char>& bytes) {
  int64_t last_sos = -1, last_eoi = -1;
  for (size_t i = 0; i + 1 < bytes.size(); ++i) {
    if (bytes[i] != 0xFF) continue;
    if (bytes[i + 1] == 0xDA) last_sos = static_cast<int64_t>(i);
    if (bytes[i + 1] == 0xD9) last_eoi = static_cast<int64_t>(i);
  }
  return last_sos >= 0 && last_eoi > last_sos;
}

std::vector<unsigned char> read_bytes(const std::filesystem::path& path) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) {
    throw input_error(path.string(), "no such file", "check the path");
  }
  if (std::filesystem::is_directory(path, error)) {
    throw input_error(path.string(), "is a folder, not an image file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw input_error(path.string(), "cannot be opened", "check its permissions");
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  if (bytes.empty()) throw input_error(path.string(), "is empty (0 bytes)");
  return bytes;
}

double full_scale(int depth) {
  switch (depth) {
    case CV_8U:
      return 255.0;
    case CV_16U:
      return 65535.0;
    default:
      return 1.0;
  }
}

}  // namespace

torch::Tensor stored_values(const torch::Tensor& pixels, int bit_depth) {
  const auto values = pixels.to(torch::kCPU);
  if (bit_depth != 8 && bit_depth != 16) return file_samples(values, 32);  // only clamped
  const int depth = bit_depth == 8 ? CV_8U : CV_16U;
  // The integers write_image stores, as one plane of C*H rows.
  const auto samples = file_samples(values, bit_depth).reshape({-1, values.size(-1)}).contiguous();
  const cv::Mat mat(static_cast<int>(samples.size(0)), static_cast<int>(samples.size(1)), depth,
                    samples.data_ptr());
  cv::Mat as_float;
  mat.convertTo(as_float, CV_32F, 1.0 / full_scale(depth));  // as read_image scales
  return torch::from_blob(as_float.data, values.sizes(), torch::kFloat32).clone();
}

std::vector<std::filesystem::path> list_image_files(const std::filesystem::path& folder) {
  if (!std::filesystem::is_directory(folder)) {
    throw usage_error(folder.string() + " is not a folder of images");
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (entry.is_regular_file() && is_image_path(entry.path())) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw usage_error(folder.string() + " holds no image files");
  return files;
}

bool is_image_path(const std::filesystem::path& path) {
  static const char* kExtensions[] = {".png",  ".jpg", ".jpeg", ".tif", ".tiff",
                                      ".webp", ".bmp", ".ppm",  ".pgm", ".pnm"};
  const auto ext = image_extension(path);
  return std::any_of(std::begin(kExtensions), std::end(kExtensions),
                     [&ext](const char* e) { return ext == e; });
}

ImageShape image_shape(const Image& image) {
  if (image.rows) return image.rows->shape();
  return {image.pixels.size(1), image.pixels.size(2), image.pixels.size(0), image.bit_depth};
}

namespace {

// The size a PNG's header declares (IHDR, the first chunk), or {0, 0}.
std::pair<int64_t, int64_t> png_declared_size(const std::vector<unsigned char>& bytes) {
  if (bytes.size() < 24 || bytes[0] != 0x89 || bytes[1] != 'P') return {0, 0};
  const auto word = [&](size_t at) {
    return (int64_t{bytes[at]} << 24) | (int64_t{bytes[at + 1]} << 16) |
           (int64_t{bytes[at + 2]} << 8) | int64_t{bytes[at + 3]};
  };
  return {word(16), word(20)};
}

// Decodes the bytes of the file `path` (or of an upload called so, `from_file` false: then it is
// never opened). The bytes are released once decoded: a large image is held once.
Image decode(std::vector<unsigned char> file_bytes, const std::filesystem::path& path,
             PixelStorage storage, bool from_file) {
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
  cv::Mat mat;
  int orientation = 1;
  {
    const auto bytes = std::move(file_bytes);
    if (bytes.empty()) throw input_error(path.string(), "is empty (0 bytes)");
    const auto [declared_width, declared_height] = png_declared_size(bytes);
    check_image_pixels(path, declared_width, declared_height);
    if (is_jpeg(bytes) && !jpeg_is_complete(bytes)) {
      throw input_error(path.string(), "is a truncated JPEG (no end-of-image marker)",
                        "the file was cut short; copy it again");
    }
    try {
      const SilencedStderr quiet;
      mat = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
    } catch (const cv::Exception&) {
      mat.release();
    }
    if (mat.empty() && from_file && is_tiff(bytes)) {
      // OpenCV 4.6 fails on a tiled 8-bit TIFF in memory (TIFFReadRGBATile) that it decodes from
      // the file.
      try {
        const SilencedStderr quiet;
        mat = cv::imread(path.string(), cv::IMREAD_UNCHANGED);
      } catch (const cv::Exception&) {
        mat.release();
      }
    }
    if (is_jpeg(bytes)) orientation = exif_orientation(bytes);
  }
  if (mat.empty() || mat.rows <= 0 || mat.cols <= 0) {
    throw input_error(
        path.string(),
        "cannot be decoded (not an image, corrupt, or absurd dimensions in its header)",
        "open it in an image viewer to check it");
  }
  check_image_pixels(path, mat.cols, mat.rows);
  const int depth = mat.depth();
  if (depth != CV_8U && depth != CV_16U && depth != CV_32F) {
    throw input_error(path.string(), "has an unsupported sample type",
                      "srkit reads 8-bit, 16-bit and float32 images");
  }
  const int channels = mat.channels();
  if (channels != 1 && channels != 3 && channels != 4) {
    throw input_error(path.string(), "has " + std::to_string(channels) + " channels",
                      "srkit reads gray, RGB and RGBA images");
  }
  if (orientation != 1) mat = apply_exif_orientation(mat, orientation);

  // One channel at a time into its plane of the [C,H,W] result: the decoded samples, one plane of
  // them and the result are all that is held (a whole-image float copy would be 4x the samples).
  Image image;
  const bool samples = storage != PixelStorage::kFloat && depth == CV_8U;
  image.pixels =
      torch::empty({channels, mat.rows, mat.cols}, samples ? torch::kUInt8 : torch::kFloat32);
  cv::Mat plane;
  for (int c = 0; c < channels; ++c) {
    const int source = channels >= 3 && c < 3 ? 2 - c : c;  // OpenCV's BGR(A) -> RGB(A)
    if (samples) {
      cv::Mat target(mat.rows, mat.cols, CV_8U, image.pixels[c].data_ptr<uint8_t>());
      cv::extractChannel(mat, target, source);
      continue;
    }
    cv::extractChannel(mat, plane, source);
    cv::Mat target(mat.rows, mat.cols, CV_32F, image.pixels[c].data_ptr<float>());
    plane.convertTo(target, CV_32F, 1.0 / full_scale(depth));
  }
  image.bit_depth = depth == CV_8U ? 8 : depth == CV_16U ? 16 : 32;
  image.origin = path;
  return image;
}

}  // namespace

Image read_image(const std::filesystem::path& path, PixelStorage storage) {
  if (storage == PixelStorage::kStreamed) {
    if (auto rows = open_row_reader(path)) {
      Image image;
      image.bit_depth = rows->shape().bit_depth;
      image.origin = path;
      image.rows = std::move(rows);
      return image;
    }
    storage = PixelStorage::kCompact;
  }
  return decode(read_bytes(path), path, storage, true);
}

Image decode_image(std::vector<unsigned char> bytes, const std::string& name) {
  return decode(std::move(bytes), name, PixelStorage::kFloat, false);
}

std::vector<unsigned char> encode_png(const torch::Tensor& pixels, int bit_depth) {
  TORCH_CHECK(
      pixels.dim() == 3 && (pixels.size(0) == 1 || pixels.size(0) == 3 || pixels.size(0) == 4),
      "encode_png: [C,H,W] with C = 1, 3 or 4");
  const int depth = bit_depth == 16 ? CV_16U : CV_8U;
  // Interleaved samples in OpenCV's order (BGR, BGRA): [H,W,C].
  auto samples = file_samples(pixels.to(torch::kCPU), depth == CV_16U ? 16 : 8);
  if (samples.size(0) >= 3) {
    std::vector<int64_t> order{2, 1, 0};
    if (samples.size(0) == 4) order.push_back(3);
    samples = samples.index_select(0, torch::tensor(order));
  }
  samples = samples.permute({1, 2, 0}).contiguous();
  const cv::Mat mat(static_cast<int>(samples.size(0)), static_cast<int>(samples.size(1)),
                    CV_MAKETYPE(depth, static_cast<int>(samples.size(2))), samples.data_ptr());
  std::vector<unsigned char> png;
  // Level 1: most of the size at a fraction of the time (results are viewed, then downloaded).
  cv::imencode(".png", mat, png, {cv::IMWRITE_PNG_COMPRESSION, 1});
  return png;
}

int write_image(const std::filesystem::path& path, const torch::Tensor& pixels, int bit_depth,
                const WriteOptions& options) {
  ImageWriter out(path, {pixels.size(1), pixels.size(2), pixels.size(0), bit_depth}, options);
  out.write_rows(pixels);
  out.commit();
  return out.bit_depth();
}

}  // namespace srkit
