// Reading a file a band of rows at a time (io/row_reader.h) against its slow, obvious twin,
// read_image decoding it whole: the same samples bit for bit for every layout that streams, in
// ragged bands; the layouts that do not stream are left to read_image; a file cut short is an
// input error naming it.
#include <png.h>
#include <tiffio.h>

#include <cstdio>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/io/image_io.h"
#include "srkit/io/row_reader.h"
#include "support/temp_dir.h"
#include "test_data.h"

namespace srkit {
namespace {

using testing::TempDir;

// An odd-sized crop of a real photo, as gray, RGB or RGBA (alpha: a ramp).
torch::Tensor photo(int64_t channels) {
  const auto rgb = read_image(testing::data_path("samples/chelsea.png"))
                       .pixels.slice(1, 10, 77)
                       .slice(2, 20, 73)
                       .contiguous();  // 67 x 53
  if (channels == 1) return rgb.mean(0, true);
  if (channels == 3) return rgb;
  const auto alpha = torch::linspace(0, 1, rgb.size(2)).view({1, 1, -1}).expand({1, 67, -1});
  return torch::cat({rgb, alpha}, 0);
}

// Every row of the file, read in bands of 1, 6, 15, ... rows.
torch::Tensor read_in_bands(RowReader& reader) {
  std::vector<torch::Tensor> bands;
  for (int64_t band = 1; reader.next_row() < reader.shape().height; band = band * 2 + 4) {
    bands.push_back(reader.read(band));
  }
  return torch::cat(bands, 1);
}

// A PNG written by libpng with a layout srkit's writer never makes. `samples` [H, W*C] uint8.
void write_png(const std::filesystem::path& path, const torch::Tensor& samples, int64_t width,
               int colour, int interlace, bool transparency_chunk) {
  FILE* file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_init_io(png, file);
  png_set_user_limits(png, 0x7fffffff, 0x7fffffff);  // libpng's default stops at 10^6 columns
  png_set_IHDR(png, info, static_cast<png_uint_32>(width),
               static_cast<png_uint_32>(samples.size(0)), 8, colour, interlace,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (colour == PNG_COLOR_TYPE_PALETTE) {
    std::vector<png_color> palette(256);
    for (int i = 0; i < 256; ++i) {
      palette[i] = {static_cast<png_byte>(i), static_cast<png_byte>(255 - i),
                    static_cast<png_byte>(i / 2)};
    }
    png_set_PLTE(png, info, palette.data(), 256);
  }
  if (transparency_chunk) {
    png_color_16 transparent{};
    transparent.gray = 7;
    png_set_tRNS(png, info, nullptr, 0, &transparent);
  }
  png_write_info(png, info);
  auto rows = samples.contiguous();
  std::vector<png_bytep> pointers(rows.size(0));
  for (int64_t y = 0; y < rows.size(0); ++y) pointers[y] = rows[y].data_ptr<uint8_t>();
  png_write_image(png, pointers.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  std::fclose(file);
}

// A TIFF written by libtiff: `samples` [H, W, C] (uint8, or int32 holding 16-bit values), in
// tiles of 16x16 or in strips; an 8-bit RGBA one with an unassociated alpha (OpenCV
// premultiplies it).
void write_tiff(const std::filesystem::path& path, const torch::Tensor& samples, int bits,
                bool tiled, bool unassociated_alpha = false) {
  TIFF* tiff = TIFFOpen(path.c_str(), "w");
  ASSERT_NE(tiff, nullptr);
  const auto height = static_cast<uint32_t>(samples.size(0));
  const auto width = static_cast<uint32_t>(samples.size(1));
  const auto channels = static_cast<uint16_t>(samples.size(2));
  TIFFSetField(tiff, TIFFTAG_IMAGEWIDTH, width);
  TIFFSetField(tiff, TIFFTAG_IMAGELENGTH, height);
  TIFFSetField(tiff, TIFFTAG_BITSPERSAMPLE, bits);
  TIFFSetField(tiff, TIFFTAG_SAMPLESPERPIXEL, channels);
  TIFFSetField(tiff, TIFFTAG_PHOTOMETRIC, channels >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
  TIFFSetField(tiff, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField(tiff, TIFFTAG_COMPRESSION, COMPRESSION_LZW);
  if (channels == 4) {
    const uint16_t extra[1] = {static_cast<uint16_t>(unassociated_alpha ? EXTRASAMPLE_UNASSALPHA
                                                                        : EXTRASAMPLE_ASSOCALPHA)};
    TIFFSetField(tiff, TIFFTAG_EXTRASAMPLES, 1, extra);
  }
  // The samples as the file stores them, row by row.
  const auto stored =
      (bits == 8 ? samples.to(torch::kUInt8) : samples.to(torch::kInt16)).contiguous();
  const auto* bytes = static_cast<const uint8_t*>(stored.data_ptr());
  const size_t pixel = channels * bits / 8, row = width * pixel;
  if (tiled) {
    TIFFSetField(tiff, TIFFTAG_TILEWIDTH, 16);
    TIFFSetField(tiff, TIFFTAG_TILELENGTH, 16);
    std::vector<uint8_t> tile(16 * 16 * pixel, 0);
    for (uint32_t y = 0; y < height; y += 16) {
      for (uint32_t x = 0; x < width; x += 16) {
        std::fill(tile.begin(), tile.end(), 0);
        for (uint32_t r = 0; r < 16 && y + r < height; ++r) {
          const size_t count = std::min<uint32_t>(16, width - x) * pixel;
          std::copy_n(bytes + (y + r) * row + x * pixel, count, tile.data() + r * 16 * pixel);
        }
        ASSERT_GE(TIFFWriteTile(tiff, tile.data(), x, y, 0, 0), 0);
      }
    }
  } else {
    std::vector<uint8_t> line(row);
    for (uint32_t y = 0; y < height; ++y) {
      std::copy_n(bytes + y * row, row, line.data());
      ASSERT_GE(TIFFWriteScanline(tiff, line.data(), y, 0), 0);
    }
  }
  TIFFClose(tiff);
}

// photo(channels) as [H, W, C] samples of this depth.
torch::Tensor photo_samples(int64_t channels, int bits) {
  const double full = bits == 8 ? 255.0 : 65535.0;
  return (photo(channels) * full).round().permute({1, 2, 0}).to(torch::kInt32).contiguous();
}

TEST(RowReader, StreamsEveryLayoutExactlyAsReadImageDecodesIt) {
  TempDir dir;
  for (const char* ext : {".png", ".tif"}) {
    for (const int64_t channels : {1, 3, 4}) {
      for (const int bits : {8, 16}) {
        const auto name = "p" + std::to_string(channels) + "_" + std::to_string(bits) + ext;
        SCOPED_TRACE(name);
        write_image(dir.path() / name, photo(channels), bits);
        const auto whole = read_image(dir.path() / name, PixelStorage::kCompact);
        auto reader = open_row_reader(dir.path() / name);
        ASSERT_NE(reader, nullptr) << "does not stream";
        EXPECT_EQ(reader->shape().bit_depth, bits);
        EXPECT_EQ(reader->shape().channels, channels);
        const auto rows = read_in_bands(*reader);
        EXPECT_EQ(rows.scalar_type(), whole.pixels.scalar_type());
        EXPECT_TRUE(torch::equal(rows, whole.pixels));
        reader->restart();
        EXPECT_TRUE(torch::equal(reader->read(5), whole.pixels.slice(1, 0, 5)));
        // What srkit upscale asks for: opened, not decoded.
        const auto streamed = read_image(dir.path() / name, PixelStorage::kStreamed);
        EXPECT_FALSE(streamed.pixels.defined());
        ASSERT_NE(streamed.rows, nullptr);
        EXPECT_EQ(image_shape(streamed).height, 67);
        EXPECT_EQ(streamed.bit_depth, bits);
      }
    }
  }
  // Tiled TIFFs (one row of tiles held), with edge tiles cut by the 67 x 53 image.
  for (const auto& [channels, bits] : {std::pair{3, 8}, std::pair{1, 16}, std::pair{4, 16}}) {
    const auto name = "tiled" + std::to_string(channels) + "_" + std::to_string(bits) + ".tif";
    SCOPED_TRACE(name);
    write_tiff(dir.path() / name, photo_samples(channels, bits), bits, /*tiled=*/true);
    auto reader = open_row_reader(dir.path() / name);
    ASSERT_NE(reader, nullptr) << "does not stream";
    EXPECT_TRUE(torch::equal(read_in_bands(*reader),
                             read_image(dir.path() / name, PixelStorage::kCompact).pixels));
  }
  // Gray with alpha, which OpenCV reads as RGBA.
  const auto gray = (photo(1)[0] * 255).round().to(torch::kUInt8);
  const auto gray_alpha = torch::stack({gray, gray.flip(1)}, 2).reshape({gray.size(0), -1});
  write_png(dir.path() / "ga.png", gray_alpha, gray.size(1), PNG_COLOR_TYPE_GRAY_ALPHA,
            PNG_INTERLACE_NONE, false);
  auto reader = open_row_reader(dir.path() / "ga.png");
  ASSERT_NE(reader, nullptr);
  EXPECT_TRUE(torch::equal(read_in_bands(*reader),
                           read_image(dir.path() / "ga.png", PixelStorage::kCompact).pixels));
}

TEST(RowReader, LeavesOtherLayoutsToReadImage) {
  TempDir dir;
  const auto gray = (photo(1)[0] * 255).round().to(torch::kUInt8);
  write_png(dir.path() / "interlaced.png", gray, gray.size(1), PNG_COLOR_TYPE_GRAY,
            PNG_INTERLACE_ADAM7, false);
  write_png(dir.path() / "palette.png", gray, gray.size(1), PNG_COLOR_TYPE_PALETTE,
            PNG_INTERLACE_NONE, false);
  write_png(dir.path() / "transparent_gray.png", gray, gray.size(1), PNG_COLOR_TYPE_GRAY,
            PNG_INTERLACE_NONE, true);
  write_tiff(dir.path() / "unassociated.tif", photo_samples(4, 8), 8, /*tiled=*/false,
             /*unassociated_alpha=*/true);
  write_image(dir.path() / "float.tif", photo(3), 32);
  write_image(dir.path() / "photo.jpg", photo(3), 8);
  write_image(dir.path() / "photo.bmp", photo(3), 8);
  std::filesystem::copy_file(dir.path() / "photo.jpg", dir.path() / "jpeg_named.png");
  for (const char* name :
       {"interlaced.png", "palette.png", "transparent_gray.png", "unassociated.tif", "float.tif",
        "photo.jpg", "photo.bmp", "jpeg_named.png", "missing.png"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(open_row_reader(dir.path() / name), nullptr);
    if (std::string(name) == "missing.png") continue;
    // srkit upscale still reads them: whole, as before.
    const auto image = read_image(dir.path() / name, PixelStorage::kStreamed);
    EXPECT_EQ(image.rows, nullptr);
    EXPECT_TRUE(image.pixels.defined());
  }
  // A row wider than OpenCV's limit (2^20) is not streamed (it could ask for gigabytes):
  // read_image refuses the file, naming it.
  const int64_t wide = (1 << 20) + 1;
  write_png(dir.path() / "wide.png", torch::zeros({1, wide}, torch::kUInt8), wide,
            PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, false);
  EXPECT_EQ(open_row_reader(dir.path() / "wide.png"), nullptr);
  EXPECT_THROW(read_image(dir.path() / "wide.png", PixelStorage::kStreamed), Error);
  // OpenCV decodes a tiled 8-bit TIFF from its file but not from memory: read_image falls back.
  write_tiff(dir.path() / "tiled.tif", photo_samples(3, 8), 8, /*tiled=*/true);
  const auto tiled = read_image(dir.path() / "tiled.tif").pixels;
  ASSERT_EQ(tiled.sizes(), torch::IntArrayRef({3, 67, 53}));
  EXPECT_TRUE(
      torch::equal(tiled, unit_float(photo_samples(3, 8).permute({2, 0, 1}).to(torch::kUInt8))));
}

TEST(RowReader, AFileCutShortIsAnInputErrorNamingIt) {
  TempDir dir;
  torch::manual_seed(3);
  const auto noise = torch::rand({3, 300, 64});  // incompressible: the cut lands in the pixels
  const auto path = dir.path() / "cut.png";
  write_image(path, noise, 8);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) * 6 / 10);
  auto reader = open_row_reader(path);
  ASSERT_NE(reader, nullptr) << "the header is intact: the file opens";
  try {
    while (reader->next_row() < reader->shape().height) reader->read(16);
    FAIL() << "a file cut short read to its end";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInput);
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace srkit
