#include "srkit/io/image_writer.h"

#include <png.h>
#include <tiffio.h>

#include <algorithm>
#include <csetjmp>
#include <cstdarg>
#include <cstdio>
#include <vector>

#include <torch/torch.h>
#include <opencv2/imgcodecs.hpp>

#include "srkit/core/clock.h"
#include "srkit/core/error.h"
#include "srkit/io/atomic_file.h"
#include "srkit/io/silenced_stderr.h"

namespace srkit {
namespace {

constexpr const char* kDiskFix = "check that the folder is writable and the disk has space";

// [C, n, W] in [0,1], or already the file's samples (file_samples, samples.h) -> those samples,
// [n, W, C] contiguous. `bgr`: OpenCV's channel order. Converted a few rows at a time, so that a
// band of a gigapixel image needs no float copies of its own size, into `buffer`, which is grown
// when too small and reused: one large allocation per file, not one per band.
torch::Tensor samples_in_file_order(const torch::Tensor& rows, int written, bool bgr,
                                    torch::Tensor& buffer) {
  const int64_t channels = rows.size(0), n = rows.size(1), width = rows.size(2);
  const auto type = sample_type(written);
  if (!buffer.defined() || buffer.size(0) < n) {
    buffer = torch::Tensor();  // the old one goes before the new one comes
    buffer = torch::empty({n, width, channels}, type);
  }
  auto samples = buffer.slice(0, 0, n);
  torch::Tensor order;
  if (bgr && channels >= 3) {
    order = channels == 4 ? torch::tensor({2, 1, 0, 3}) : torch::tensor({2, 1, 0});
  }
  const bool quantized = rows.scalar_type() == type && written != 32;
  constexpr int64_t kChunk = 16;
  for (int64_t first = 0; first < n; first += kChunk) {
    auto chw = rows.slice(1, first, std::min(n, first + kChunk)).to(torch::kCPU);
    if (!quantized) chw = file_samples(chw, written);
    if (order.defined()) chw = chw.index_select(0, order);
    samples.slice(0, first, first + chw.size(1)).copy_(chw.permute({1, 2, 0}));
  }
  return samples;
}

int64_t sample_bytes(int written) { return written == 8 ? 1 : written == 16 ? 2 : 4; }

}  // namespace

// One kind of file. Rows arrive as samples in the file's order.
struct ImageWriter::Format {
  Format(const std::filesystem::path& path, const ImageShape& shape, int written)
      : out(path), shape(shape), written(written) {}
  virtual ~Format() = default;
  virtual bool bgr() const { return false; }
  virtual void write(const torch::Tensor& samples) = 0;  // [n, W, C]
  virtual void finish() = 0;                             // after the last row, before the rename

  AtomicOutput out;
  ImageShape shape;
  int written;
  int64_t rows = 0;     // handed to write_rows
  int64_t encoded = 0;  // written by `write`, on the encoding thread
};

namespace {

// PNG through libpng, row by row. libpng reports errors by longjmp: every libpng call runs inside
// `guarded`, whose frame holds nothing with a destructor, and a failure becomes an output Error.
class PngFormat : public ImageWriter::Format {
 public:
  PngFormat(const std::filesystem::path& path, const ImageShape& shape, int written)
      : Format(path, shape, written) {
    file_ = std::fopen(out.temp_path().c_str(), "wb");
    if (!file_) fail("cannot be created");
    png_ = png_create_write_struct(PNG_LIBPNG_VER_STRING, this, on_error, on_warning);
    if (png_) info_ = png_create_info_struct(png_);
    if (!png_ || !info_) fail("cannot be encoded: out of memory");
    const int type = shape.channels == 1   ? PNG_COLOR_TYPE_GRAY
                     : shape.channels == 3 ? PNG_COLOR_TYPE_RGB
                                           : PNG_COLOR_TYPE_RGB_ALPHA;
    check(guarded([&] {
      png_init_io(png_, file_);
      png_set_user_limits(png_, 0x7fffffff, 0x7fffffff);  // PNG's own limit, not libpng's 1e6
      png_set_IHDR(png_, info_, static_cast<png_uint_32>(shape.width),
                   static_cast<png_uint_32>(shape.height), written, type, PNG_INTERLACE_NONE,
                   PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
      // zlib level 1 and the Paeth filter: on an 8192x8192 esrgan-slim output half the time of
      // level 3 with libpng's adaptive filters for 7 % more bytes (3.2 s, 52.3 MB against 6.2 s,
      // 49.0 MB: bench/gigapixel/png_settings.cpp). A gigapixel PNG is encoded on a core the model
      // would otherwise have.
      png_set_compression_level(png_, 1);
      png_set_filter(png_, PNG_FILTER_TYPE_BASE, PNG_FILTER_PAETH);
      png_write_info(png_, info_);
      if (written == 16) png_set_swap(png_);  // PNG stores 16-bit samples big-endian
    }));
  }
  ~PngFormat() override { release(); }

  void write(const torch::Tensor& samples) override {
    const int64_t stride = samples.stride(0) * samples.element_size();
    rows_.resize(samples.size(0));
    auto* base = static_cast<png_byte*>(samples.data_ptr());
    for (size_t i = 0; i < rows_.size(); ++i) rows_[i] = base + static_cast<int64_t>(i) * stride;
    check(guarded(
        [&] { png_write_rows(png_, rows_.data(), static_cast<png_uint_32>(rows_.size())); }));
    encoded += samples.size(0);
  }

  void finish() override {
    check(guarded([&] { png_write_end(png_, nullptr); }));
    png_destroy_write_struct(&png_, &info_);
    png_ = nullptr;
    info_ = nullptr;
    const bool flushed = std::fflush(file_) == 0 && !std::ferror(file_);
    const bool closed = std::fclose(file_) == 0;
    file_ = nullptr;
    if (!flushed || !closed) fail("cannot be written");
  }

 private:
  static void on_error(png_structp png, png_const_charp message) {
    static_cast<PngFormat*>(png_get_error_ptr(png))->message_ = message;
    longjmp(png_jmpbuf(png), 1);
  }
  static void on_warning(png_structp, png_const_charp) {}

  template <typename Calls>
  bool guarded(const Calls& calls) {
    if (setjmp(png_jmpbuf(png_))) return false;
    calls();
    return true;
  }
  void check(bool ok) {
    if (!ok) fail("cannot be written (libpng: " + message_ + ")");
  }
  // Frees libpng and closes the file: here as well as in the destructor, which does not run when
  // the constructor fails.
  void release() {
    if (png_) png_destroy_write_struct(&png_, info_ ? &info_ : nullptr);
    if (file_) std::fclose(file_);
    png_ = nullptr;
    info_ = nullptr;
    file_ = nullptr;
  }
  [[noreturn]] void fail(const std::string& problem) {
    release();
    throw output_error(out.destination().string(), problem, kDiskFix);
  }

  FILE* file_ = nullptr;
  png_structp png_ = nullptr;
  png_infop info_ = nullptr;
  std::vector<png_bytep> rows_;
  std::string message_;
};

// TIFF through libtiff, in LZW-compressed strips (with the horizontal predictor for integers, the
// floating-point one for float), as OpenCV writes them; BigTIFF when the samples pass 3 GiB, so
// that the compressed file cannot outgrow classic TIFF's 4 GiB offsets.
class TiffFormat : public ImageWriter::Format {
 public:
  TiffFormat(const std::filesystem::path& path, const ImageShape& shape, int written)
      : Format(path, shape, written) {
    const int64_t row_bytes = shape.width * shape.channels * sample_bytes(written);
    const bool big = row_bytes * shape.height > (int64_t{3} << 30);
    TIFFOpenOptions* options = TIFFOpenOptionsAlloc();
    TIFFOpenOptionsSetErrorHandlerExtR(options, on_error, this);
    TIFFOpenOptionsSetWarningHandlerExtR(options, on_warning, this);
    tiff_ = TIFFOpenExt(out.temp_path().c_str(), big ? "w8" : "w", options);
    TIFFOpenOptionsFree(options);
    if (!tiff_) fail("cannot be created");
    const bool is_float = written == 32;
    const auto rows_per_strip =
        static_cast<uint32_t>(std::max<int64_t>(1, (int64_t{256} << 10) / row_bytes));
    bool ok = TIFFSetField(tiff_, TIFFTAG_IMAGEWIDTH, static_cast<uint32_t>(shape.width)) &&
              TIFFSetField(tiff_, TIFFTAG_IMAGELENGTH, static_cast<uint32_t>(shape.height)) &&
              TIFFSetField(tiff_, TIFFTAG_BITSPERSAMPLE, written) &&
              TIFFSetField(tiff_, TIFFTAG_SAMPLESPERPIXEL, static_cast<int>(shape.channels)) &&
              TIFFSetField(tiff_, TIFFTAG_SAMPLEFORMAT,
                           is_float ? SAMPLEFORMAT_IEEEFP : SAMPLEFORMAT_UINT) &&
              TIFFSetField(tiff_, TIFFTAG_PHOTOMETRIC,
                           shape.channels >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK) &&
              TIFFSetField(tiff_, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) &&
              TIFFSetField(tiff_, TIFFTAG_COMPRESSION, COMPRESSION_LZW) &&
              TIFFSetField(tiff_, TIFFTAG_PREDICTOR,
                           is_float ? PREDICTOR_FLOATINGPOINT : PREDICTOR_HORIZONTAL) &&
              TIFFSetField(tiff_, TIFFTAG_ROWSPERSTRIP, rows_per_strip);
    if (shape.channels == 4) {
      // The alpha is straight (not premultiplied), but marked "unspecified" as OpenCV writes it:
      // OpenCV reads an "unassociated alpha" 8-bit TIFF premultiplied, changing the colours.
      const uint16_t extra[1] = {EXTRASAMPLE_UNSPECIFIED};
      ok = ok && TIFFSetField(tiff_, TIFFTAG_EXTRASAMPLES, 1, extra);
    }
    if (!ok) fail("cannot be written (libtiff: " + message_ + ")");
  }
  ~TiffFormat() override {
    if (tiff_) TIFFClose(tiff_);
  }

  void write(const torch::Tensor& samples) override {
    auto* base = static_cast<char*>(samples.data_ptr());
    const int64_t stride = samples.stride(0) * samples.element_size();
    for (int64_t i = 0; i < samples.size(0); ++i) {
      if (TIFFWriteScanline(tiff_, base + i * stride, static_cast<uint32_t>(encoded + i), 0) < 0) {
        fail("cannot be written (libtiff: " + message_ + ")");
      }
    }
    encoded += samples.size(0);
  }

  void finish() override {
    const bool flushed = TIFFFlush(tiff_) == 1;
    TIFFClose(tiff_);
    tiff_ = nullptr;
    if (!flushed) fail("cannot be written (libtiff: " + message_ + ")");
  }

 private:
  static int on_error(TIFF*, void* self, const char*, const char* format, va_list args) {
    char text[512];
    std::vsnprintf(text, sizeof text, format, args);
    static_cast<TiffFormat*>(self)->message_ = text;
    return 1;  // handled: not printed
  }
  static int on_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }
  [[noreturn]] void fail(const std::string& problem) {
    if (tiff_) TIFFClose(tiff_);  // the destructor does not run when the constructor fails
    tiff_ = nullptr;
    throw output_error(out.destination().string(), problem, kDiskFix);
  }

  TIFF* tiff_ = nullptr;
  std::string message_ = "no details";
};

// JPEG, WebP, BMP, PNM: encoded whole by OpenCV at the end, from samples held until then.
class HeldFormat : public ImageWriter::Format {
 public:
  HeldFormat(const std::filesystem::path& path, const ImageShape& shape, int written,
             const WriteOptions& options)
      : Format(path, shape, written), options_(options) {
    samples_ = torch::empty({shape.height, shape.width, shape.channels}, sample_type(written));
    // Created now, like the streamed formats, so that an unwritable place fails before the work.
    FILE* probe = std::fopen(out.temp_path().c_str(), "wb");
    if (!probe) {
      throw output_error(path.string(), "cannot be created", kDiskFix);
    }
    std::fclose(probe);
  }
  bool bgr() const override { return true; }

  void write(const torch::Tensor& samples) override {
    samples_.slice(0, encoded, encoded + samples.size(0)).copy_(samples);
    encoded += samples.size(0);
  }

  void finish() override {
    const int depth = written == 8 ? CV_8U : written == 16 ? CV_16U : CV_32F;
    const cv::Mat mat(static_cast<int>(shape.height), static_cast<int>(shape.width),
                      CV_MAKETYPE(depth, static_cast<int>(shape.channels)), samples_.data_ptr());
    const auto ext = image_extension(out.destination());
    std::vector<int> params;
    if (ext == ".jpg" || ext == ".jpeg") params = {cv::IMWRITE_JPEG_QUALITY, options_.jpeg_quality};
    if (ext == ".webp") params = {cv::IMWRITE_WEBP_QUALITY, 100};  // >100 would be lossless
    bool ok = false;
    try {
      const SilencedStderr quiet;
      ok = cv::imwrite(out.temp_path().string(), mat, params);
    } catch (const cv::Exception&) {
      ok = false;
    }
    if (!ok) throw output_error(out.destination().string(), "cannot be written", kDiskFix);
  }

 private:
  WriteOptions options_;
  torch::Tensor samples_;
};

}  // namespace

std::string image_extension(const std::filesystem::path& path) {
  auto ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext;
}

int written_bit_depth(const std::filesystem::path& path, int bit_depth) {
  const auto ext = image_extension(path);
  const bool keeps_16 = ext == ".png" || ext == ".tif" || ext == ".tiff" || ext == ".pgm" ||
                        ext == ".ppm" || ext == ".pnm";
  const bool keeps_float = ext == ".tif" || ext == ".tiff";
  if (bit_depth == 32 && keeps_float) return 32;
  if (bit_depth >= 16 && keeps_16) return 16;
  return 8;
}

bool streams_rows(const std::filesystem::path& path) {
  const auto ext = image_extension(path);
  return ext == ".png" || ext == ".tif" || ext == ".tiff";
}

int64_t writer_memory_bytes(const std::filesystem::path& path, const ImageShape& shape) {
  const int64_t row =
      shape.width * shape.channels * sample_bytes(written_bit_depth(path, shape.bit_depth));
  return streams_rows(path) ? row : row * shape.height;
}

ImageWriter::ImageWriter(const std::filesystem::path& path, const ImageShape& shape,
                         const WriteOptions& options) {
  if (!is_image_path(path)) {
    throw output_error(path.string(), "has no image extension srkit can write",
                       "use .png, .jpg, .tif, .webp or .bmp");
  }
  std::error_code error;
  if (!options.overwrite && std::filesystem::exists(path, error)) {
    throw output_error(path.string(), "already exists",
                       "pass {{WriteOptions::overwrite}} to replace it");
  }
  if (shape.height <= 0 || shape.width <= 0 ||
      (shape.channels != 1 && shape.channels != 3 && shape.channels != 4)) {
    throw usage_error("an image to write needs a size and 1, 3 or 4 channels");
  }
  const int written = written_bit_depth(path, shape.bit_depth);
  const auto ext = image_extension(path);
  if (ext == ".png") {
    format_ = std::make_unique<PngFormat>(path, shape, written);
  } else if (ext == ".tif" || ext == ".tiff") {
    format_ = std::make_unique<TiffFormat>(path, shape, written);
  } else {
    format_ = std::make_unique<HeldFormat>(path, shape, written, options);
  }
}

ImageWriter::~ImageWriter() {
  if (!encoding_.valid()) return;
  try {
    encoding_.get();  // the thread uses the format: wait before it goes
  } catch (...) {
    // Unwinding from another error already; the temporary file is removed either way.
  }
}

void ImageWriter::write_rows(const torch::Tensor& rows) {
  auto& f = *format_;
  if (rows.dim() != 3 || rows.size(0) != f.shape.channels || rows.size(2) != f.shape.width ||
      f.rows + rows.size(1) > f.shape.height) {
    throw usage_error("rows [" + std::to_string(rows.dim() == 3 ? rows.size(0) : 0) + ", n, " +
                      std::to_string(rows.dim() == 3 ? rows.size(2) : 0) +
                      "] do not fit the image being written, " + std::to_string(f.shape.channels) +
                      " channels of " + std::to_string(f.shape.width) + " x " +
                      std::to_string(f.shape.height));
  }
  if (!rows.is_floating_point() && rows.scalar_type() != sample_type(f.written)) {
    throw usage_error(std::string("rows of ") + c10::toString(rows.scalar_type()) +
                      " samples do not fit a " + std::to_string(f.written) +
                      "-bit file: give values in [0,1] or file_samples at its depth");
  }
  if (rows.size(1) == 0) return;
  // The previous band's encoding ends first, so that one band of samples is held at a time; it
  // ran while the caller computed these rows.
  const auto wait_start = SteadyClock::now();
  if (encoding_.valid()) encoding_.get();
  timing_.waiting += seconds_since(wait_start);
  const auto convert_start = SteadyClock::now();
  auto samples = samples_in_file_order(rows, f.written, f.bgr(), samples_);
  timing_.converting += seconds_since(convert_start);
  encoding_ = std::async(std::launch::async, [this, &f, samples] {
    const auto start = SteadyClock::now();
    const double cpu_start = thread_cpu_seconds();
    f.write(samples);
    timing_.encoding += seconds_since(start);
    timing_.encoding_cpu += thread_cpu_seconds() - cpu_start;
  });
  f.rows += rows.size(1);
}

void ImageWriter::commit() {
  auto& f = *format_;
  if (f.rows != f.shape.height) {
    throw output_error(f.out.destination().string(), "is incomplete: " + std::to_string(f.rows) +
                                                         " of " + std::to_string(f.shape.height) +
                                                         " rows were written");
  }
  const auto start = SteadyClock::now();
  if (encoding_.valid()) encoding_.get();
  f.finish();
  f.out.commit();
  timing_.committing = seconds_since(start);
}

int ImageWriter::bit_depth() const { return format_->written; }

int64_t ImageWriter::rows_written() const { return format_->rows; }

}  // namespace srkit
