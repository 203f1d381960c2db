#include "srkit/io/row_reader.h"

#include <png.h>
#include <tiffio.h>

#include <algorithm>
#include <csetjmp>
#include <cstdarg>
#include <cstdio>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <opencv2/core.hpp>

#include "srkit/core/error.h"
#include "srkit/io/image_limits.h"

namespace srkit {
namespace {

// The widest row streamed, OpenCV's own limit (CV_IO_MAX_IMAGE_WIDTH): a header claiming more is
// left to read_image, which refuses it, rather than allocating a row of gigabytes.
constexpr uint32_t kMaxWidth = 1 << 20;

constexpr const char* kCorruptFix = "the file is corrupt or cut short; open it in an image viewer";

// Interleaved samples [n, W, C] of the file (uint8, or uint16 in this machine's byte order) as
// read_image makes them: uint8 samples [C, n, W], or float32 values scaled exactly as read_image
// scales a 16-bit plane (OpenCV's convertTo).
torch::Tensor rows_from_samples(const unsigned char* data, int64_t n, const ImageShape& shape) {
  const auto channels = static_cast<int>(shape.channels);
  if (shape.bit_depth == 8) {
    const auto hwc = torch::from_blob(const_cast<unsigned char*>(data),
                                      {n, shape.width, shape.channels}, torch::kUInt8);
    // A copy: the caller's buffer is read into again (and for one channel, the permuted view
    // would still be that buffer).
    return torch::empty({shape.channels, n, shape.width}, torch::kUInt8)
        .copy_(hwc.permute({2, 0, 1}));
  }
  auto out = torch::empty({shape.channels, n, shape.width}, torch::kFloat32);
  const cv::Mat interleaved(static_cast<int>(n), static_cast<int>(shape.width), CV_16UC(channels),
                            const_cast<unsigned char*>(data));
  cv::Mat plane;
  for (int c = 0; c < channels; ++c) {
    cv::extractChannel(interleaved, plane, c);
    cv::Mat target(static_cast<int>(n), static_cast<int>(shape.width), CV_32F,
                   out[c].data_ptr<float>());
    plane.convertTo(target, CV_32F, 1.0 / 65535.0);
  }
  return out;
}

// A codec's reader of one file: start() opens it and reads its header (false when it does not
// stream), release() closes it; restart() is the two.
class FileRows : public RowReader {
 public:
  template <typename Rows>
  static std::unique_ptr<RowReader> open(const std::filesystem::path& path) {
    auto reader = std::make_unique<Rows>(path);
    if (!static_cast<FileRows&>(*reader).start()) return nullptr;
    return reader;
  }

  void restart() final {
    release();
    next_ = 0;
    if (!start()) throw input_error(path_.string(), "cannot be opened again", kCorruptFix);
  }

 protected:
  explicit FileRows(const std::filesystem::path& path) : RowReader(path, {}) {}
  virtual bool start() = 0;
  virtual void release() = 0;
};

// PNG through libpng, rows as they are stored (8- or 16-bit gray, RGB, RGBA, and gray + alpha as
// RGBA, which is how OpenCV reads it). libpng reports errors by longjmp: every libpng call runs
// inside `guarded`, whose frame holds nothing with a destructor.
class PngRows : public FileRows {
 public:
  explicit PngRows(const std::filesystem::path& path) : FileRows(path) {}
  ~PngRows() override { release(); }

  torch::Tensor read(int64_t count) override {
    const int64_t n = std::clamp<int64_t>(count, 0, shape_.height - next_);
    const auto row_bytes = static_cast<size_t>(png_get_rowbytes(png_, info_));
    if (buffer_.size() < row_bytes * n) buffer_.resize(row_bytes * n);
    rows_.resize(n);
    for (int64_t i = 0; i < n; ++i) rows_[i] = buffer_.data() + row_bytes * i;
    if (!guarded(
            [&] { png_read_rows(png_, rows_.data(), nullptr, static_cast<png_uint_32>(n)); })) {
      throw input_error(path_.string(), "cannot be decoded (libpng: " + message_ + ")",
                        kCorruptFix);
    }
    next_ += n;
    return rows_from_samples(buffer_.data(), n, shape_);
  }

 private:
  bool start() override {
    file_ = std::fopen(path_.c_str(), "rb");
    if (!file_) return false;
    png_byte signature[8];
    if (std::fread(signature, 1, 8, file_) != 8 || png_sig_cmp(signature, 0, 8) != 0) {
      return false;
    }
    png_ = png_create_read_struct(PNG_LIBPNG_VER_STRING, this, on_error, on_warning);
    if (png_) info_ = png_create_info_struct(png_);
    if (!png_ || !info_) return false;
    png_uint_32 width = 0, height = 0;
    int depth = 0, colour = 0, interlace = 0;
    if (!guarded([&] {
          png_init_io(png_, file_);
          png_set_sig_bytes(png_, 8);
          png_set_user_limits(png_, 0x7fffffff, 0x7fffffff);  // memory is bounded by the band
          png_read_info(png_, info_);
          png_get_IHDR(png_, info_, &width, &height, &depth, &colour, &interlace, nullptr, nullptr);
        })) {
      return false;
    }
    const bool streams =
        (depth == 8 || depth == 16) && interlace == PNG_INTERLACE_NONE &&
        !png_get_valid(png_, info_, PNG_INFO_tRNS) &&
        (colour == PNG_COLOR_TYPE_GRAY || colour == PNG_COLOR_TYPE_RGB ||
         colour == PNG_COLOR_TYPE_RGB_ALPHA || colour == PNG_COLOR_TYPE_GRAY_ALPHA);
    if (!streams || width == 0 || height == 0 || width > kMaxWidth) return false;
    if (!guarded([&] {
          if (depth == 16) png_set_swap(png_);  // PNG stores 16-bit samples big-endian
          if (colour == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png_);
          png_read_update_info(png_, info_);
        })) {
      return false;
    }
    shape_ = {static_cast<int64_t>(height), static_cast<int64_t>(width),
              colour == PNG_COLOR_TYPE_GRAY  ? 1
              : colour == PNG_COLOR_TYPE_RGB ? 3
                                             : 4,
              depth};
    return png_get_channels(png_, info_) == shape_.channels;
  }

  void release() override {
    if (png_) png_destroy_read_struct(&png_, info_ ? &info_ : nullptr, nullptr);
    if (file_) std::fclose(file_);
    png_ = nullptr;
    info_ = nullptr;
    file_ = nullptr;
  }

  static void on_error(png_structp png, png_const_charp message) {
    static_cast<PngRows*>(png_get_error_ptr(png))->message_ = message;
    longjmp(png_jmpbuf(png), 1);
  }
  static void on_warning(png_structp, png_const_charp) {}

  template <typename Calls>
  bool guarded(const Calls& calls) {
    if (setjmp(png_jmpbuf(png_))) return false;
    calls();
    return true;
  }

  FILE* file_ = nullptr;
  png_structp png_ = nullptr;
  png_infop info_ = nullptr;
  std::vector<png_byte> buffer_;
  std::vector<png_bytep> rows_;
  std::string message_;
};

// TIFF through libtiff, in strips (one scanline at a time) or tiles (one row of tiles held): 8- or
// 16-bit unsigned gray (min is black), RGB, or RGB with one alpha OpenCV does not premultiply (a
// 16-bit one, or an 8-bit one marked associated or unspecified), interleaved, top-left
// orientation, the first page.
class TiffRows : public FileRows {
 public:
  explicit TiffRows(const std::filesystem::path& path) : FileRows(path) {}
  ~TiffRows() override { release(); }

  torch::Tensor read(int64_t count) override {
    const int64_t n = std::clamp<int64_t>(count, 0, shape_.height - next_);
    const int64_t row_bytes = shape_.width * shape_.channels * shape_.bit_depth / 8;
    if (buffer_.size() < static_cast<size_t>(row_bytes * n)) buffer_.resize(row_bytes * n);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t row = next_ + i;
      if (tile_h_ == 0) {
        if (TIFFReadScanline(tiff_, buffer_.data() + row_bytes * i, static_cast<uint32_t>(row), 0) <
            0) {
          fail();
        }
        continue;
      }
      if (tile_top_ < 0 || row < tile_top_ || row >= tile_top_ + tile_h_) {
        read_tile_row(row / tile_h_ * tile_h_);
      }
      std::copy_n(tile_rows_.data() + (row - tile_top_) * row_bytes, row_bytes,
                  buffer_.data() + row_bytes * i);
    }
    next_ += n;
    return rows_from_samples(buffer_.data(), n, shape_);
  }

 private:
  bool start() override {
    TIFFOpenOptions* options = TIFFOpenOptionsAlloc();
    TIFFOpenOptionsSetErrorHandlerExtR(options, on_error, this);
    TIFFOpenOptionsSetWarningHandlerExtR(options, on_warning, this);
    tiff_ = TIFFOpenExt(path_.c_str(), "r", options);
    TIFFOpenOptionsFree(options);
    if (!tiff_) return false;
    tile_w_ = tile_h_ = 0;
    tile_top_ = -1;
    if (TIFFIsTiled(tiff_)) {
      uint32_t tile_w = 0, tile_h = 0;
      TIFFGetField(tiff_, TIFFTAG_TILEWIDTH, &tile_w);
      TIFFGetField(tiff_, TIFFTAG_TILELENGTH, &tile_h);
      // One row of tiles is held: a header claiming tiles of more than 64 MB is read_image's.
      const int64_t tile_bytes = TIFFTileSize64(tiff_);
      if (tile_w == 0 || tile_h == 0 || tile_bytes <= 0 || tile_bytes > (int64_t{64} << 20)) {
        return false;
      }
      tile_w_ = tile_w;
      tile_h_ = tile_h;
    }
    uint32_t width = 0, height = 0;
    uint16_t bits = 0, samples = 0, photometric = 0, planar = 0, format = 0, orientation = 0;
    uint16_t extra_count = 0;
    uint16_t* extra = nullptr;
    if (!TIFFGetField(tiff_, TIFFTAG_IMAGEWIDTH, &width) ||
        !TIFFGetField(tiff_, TIFFTAG_IMAGELENGTH, &height) ||
        !TIFFGetField(tiff_, TIFFTAG_PHOTOMETRIC, &photometric)) {
      return false;
    }
    TIFFGetFieldDefaulted(tiff_, TIFFTAG_BITSPERSAMPLE, &bits);
    TIFFGetFieldDefaulted(tiff_, TIFFTAG_SAMPLESPERPIXEL, &samples);
    TIFFGetFieldDefaulted(tiff_, TIFFTAG_PLANARCONFIG, &planar);
    TIFFGetFieldDefaulted(tiff_, TIFFTAG_SAMPLEFORMAT, &format);
    TIFFGetFieldDefaulted(tiff_, TIFFTAG_ORIENTATION, &orientation);
    TIFFGetFieldDefaulted(tiff_, TIFFTAG_EXTRASAMPLES, &extra_count, &extra);
    const bool gray = photometric == PHOTOMETRIC_MINISBLACK && samples == 1;
    const bool rgb = photometric == PHOTOMETRIC_RGB && samples == 3;
    const bool rgba = photometric == PHOTOMETRIC_RGB && samples == 4 && extra_count == 1 &&
                      (bits == 16 || extra[0] != EXTRASAMPLE_UNASSALPHA);
    if (!(gray || rgb || rgba) || (bits != 8 && bits != 16) || format != SAMPLEFORMAT_UINT ||
        planar != PLANARCONFIG_CONTIG || orientation != ORIENTATION_TOPLEFT || width == 0 ||
        height == 0 || width > kMaxWidth) {
      return false;
    }
    shape_ = {static_cast<int64_t>(height), static_cast<int64_t>(width), samples, bits};
    // A scanline is exactly the row read() makes room for.
    return tile_h_ > 0 ||
           static_cast<int64_t>(TIFFScanlineSize64(tiff_)) == shape_.width * samples * bits / 8;
  }

  void release() override {
    if (tiff_) TIFFClose(tiff_);
    tiff_ = nullptr;
  }

  // Decodes the row of tiles whose first image row is `top` into tile_rows_, as image rows.
  void read_tile_row(int64_t top) {
    const int64_t pixel_bytes = shape_.channels * shape_.bit_depth / 8;
    const int64_t row_bytes = shape_.width * pixel_bytes;
    tile_.resize(static_cast<size_t>(TIFFTileSize64(tiff_)));
    tile_rows_.resize(static_cast<size_t>(tile_h_ * row_bytes));
    const int64_t rows = std::min(tile_h_, shape_.height - top);
    for (int64_t x = 0; x < shape_.width; x += tile_w_) {
      if (TIFFReadTile(tiff_, tile_.data(), static_cast<uint32_t>(x), static_cast<uint32_t>(top), 0,
                       0) < 0) {
        fail();
      }
      const int64_t bytes = std::min(tile_w_, shape_.width - x) * pixel_bytes;
      for (int64_t r = 0; r < rows; ++r) {
        std::copy_n(tile_.data() + r * tile_w_ * pixel_bytes, bytes,
                    tile_rows_.data() + r * row_bytes + x * pixel_bytes);
      }
    }
    tile_top_ = top;
  }

  [[noreturn]] void fail() const {
    throw input_error(path_.string(), "cannot be decoded (libtiff: " + message_ + ")", kCorruptFix);
  }

  static int on_error(TIFF*, void* self, const char*, const char* format, va_list args) {
    char text[512];
    std::vsnprintf(text, sizeof text, format, args);
    static_cast<TiffRows*>(self)->message_ = text;
    return 1;  // handled: not printed
  }
  static int on_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

  TIFF* tiff_ = nullptr;
  std::vector<unsigned char> buffer_;
  int64_t tile_w_ = 0, tile_h_ = 0;  // 0: in strips
  int64_t tile_top_ = -1;            // the image row tile_rows_ starts at; -1: none read yet
  std::vector<unsigned char> tile_, tile_rows_;
  std::string message_;
};

}  // namespace

std::unique_ptr<RowReader> open_row_reader(const std::filesystem::path& path) {
  // By what the file holds, as read_image decodes it, not by its extension.
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) return nullptr;
  unsigned char magic[4] = {};
  if (FILE* file = std::fopen(path.c_str(), "rb")) {
    const size_t got = std::fread(magic, 1, sizeof magic, file);
    std::fclose(file);
    if (got != sizeof magic) return nullptr;
  }
  std::unique_ptr<RowReader> reader;
  if (magic[0] == 0x89 && magic[1] == 'P' && magic[2] == 'N' && magic[3] == 'G') {
    reader = FileRows::open<PngRows>(path);
  }
  const bool tiff = (magic[0] == 'I' && magic[1] == 'I' && (magic[2] == 42 || magic[2] == 43)) ||
                    (magic[0] == 'M' && magic[1] == 'M' && (magic[3] == 42 || magic[3] == 43));
  if (tiff) reader = FileRows::open<TiffRows>(path);
  if (reader) check_image_pixels(path, reader->shape().width, reader->shape().height);
  return reader;
}

}  // namespace srkit
