// Image files in and out: bit depths, channel layouts, EXIF orientation, bad files, atomic writes.
#include <libexif/exif-data.h>

#include <fstream>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <zlib.h>
#include <opencv2/imgcodecs.hpp>

#include "srkit/core/error.h"
#include "srkit/engine/tiling.h"
#include "srkit/io/image_io.h"
#include "test_data.h"

namespace srkit {
namespace {

void write_bytes(const std::filesystem::path& path, const std::vector<unsigned char>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

// Expects read_image to fail with an input error whose message names the file and contains `what`.
void expect_input_error(const std::filesystem::path& path, const std::string& what) {
  try {
    read_image(path);
    FAIL() << path << " should not be readable";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInput);
    const std::string message = e.what();
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    EXPECT_NE(message.find(what), std::string::npos) << message;
  }
}

TEST(ImageIo, EightBitPngRoundTripsExactly) {
  testing::TempDir dir;
  const auto photo = read_image(testing::data_path("samples/astronaut.png"));
  EXPECT_EQ(photo.bit_depth, 8);
  EXPECT_EQ(photo.pixels.size(0), 3);
  EXPECT_EQ(write_image(dir / "a.png", photo.pixels, 8), 8);
  const auto back = read_image(dir / "a.png");
  EXPECT_TRUE(torch::equal(back.pixels, photo.pixels));
}

TEST(ImageIo, CompactStorageHoldsEightBitSamplesThatScaleToTheFloatRead) {
  testing::TempDir dir;
  cv::Mat levels(16, 16, CV_8UC1);  // every 8-bit level once
  for (int i = 0; i < 256; ++i) levels.at<uint8_t>(i / 16, i % 16) = static_cast<uint8_t>(i);
  ASSERT_TRUE(cv::imwrite((dir / "levels.png").string(), levels));
  for (const auto& path : {dir / "levels.png", testing::data_path("samples/astronaut.png")}) {
    const auto compact = read_image(path, PixelStorage::kCompact);
    const auto full = read_image(path);
    EXPECT_EQ(compact.pixels.scalar_type(), torch::kUInt8) << path;
    EXPECT_EQ(compact.bit_depth, 8);
    EXPECT_TRUE(torch::equal(unit_float(compact.pixels), full.pixels)) << path;
  }
  // Other depths have no compact form: they are read as float.
  const auto pixels = read_image(testing::data_path("samples/coffee.png")).pixels;
  write_image(dir / "deep.png", pixels, 16);
  EXPECT_EQ(read_image(dir / "deep.png", PixelStorage::kCompact).pixels.scalar_type(),
            torch::kFloat32);
}

TEST(ImageIo, SixteenBitStaysSixteenBit) {
  testing::TempDir dir;
  const auto photo = read_image(testing::data_path("samples/coffee.png")).pixels;
  // 16-bit levels that 8 bits cannot hold: the photo plus a fine ramp of 0..200 / 65535.
  const auto levels =
      (photo * 65000 + torch::arange(photo.size(2)).remainder(200).view({1, 1, -1})).round();
  const auto pixels = levels / 65535.0;
  for (const char* name : {"b.png", "b.tif"}) {
    EXPECT_EQ(write_image(dir / name, pixels, 16), 16);
    const auto back = read_image(dir / name);
    EXPECT_EQ(back.bit_depth, 16);
    EXPECT_TRUE(torch::equal(back.pixels.mul(65535).round(), levels)) << name;
  }
  // JPEG cannot hold 16 bits: written as 8-bit, rounded.
  EXPECT_EQ(write_image(dir / "b.jpg", pixels, 16), 8);
}

TEST(ImageIo, GrayAndRgbaKeepTheirChannels) {
  testing::TempDir dir;
  const auto gray = read_image(testing::data_path("samples/camera.png"));
  EXPECT_EQ(gray.pixels.size(0), 1);
  const auto rgb = read_image(testing::data_path("samples/chelsea.png")).pixels;
  const auto alpha =
      torch::linspace(0, 1, rgb.size(2)).view({1, 1, -1}).expand({1, rgb.size(1), -1});
  const auto rgba = torch::cat({rgb, alpha}, 0).mul(255).round().div(255);
  write_image(dir / "c.png", rgba, 8);
  const auto back = read_image(dir / "c.png");
  ASSERT_EQ(back.pixels.size(0), 4);
  EXPECT_TRUE(torch::allclose(back.pixels, rgba, 0, 1e-6));
}

TEST(ImageIo, ExifOrientationIsApplied) {
  testing::TempDir dir;
  const auto photo = read_image(testing::data_path("samples/chelsea.png")).pixels;
  write_image(dir / "plain.jpg", photo, 8);
  std::ifstream in(dir / "plain.jpg", std::ios::binary);
  std::vector<unsigned char> jpeg((std::istreambuf_iterator<char>(in)), {});

  ExifData* exif = exif_data_new();
  exif_data_set_byte_order(exif, EXIF_BYTE_ORDER_INTEL);
  ExifEntry* entry = exif_entry_new();
  exif_content_add_entry(exif->ifd[EXIF_IFD_0], entry);
  exif_entry_initialize(entry, EXIF_TAG_ORIENTATION);
  exif_set_short(entry->data, EXIF_BYTE_ORDER_INTEL, 6);  // "rotate 90 degrees clockwise to view"
  unsigned char* payload = nullptr;
  unsigned int size = 0;
  exif_data_save_data(exif, &payload, &size);
  std::vector<unsigned char> segment{0xFF, 0xE1, static_cast<unsigned char>((size + 2) >> 8),
                                     static_cast<unsigned char>((size + 2) & 0xFF)};
  segment.insert(segment.end(), payload, payload + size);
  free(payload);
  exif_entry_unref(entry);
  exif_data_unref(exif);
  jpeg.insert(jpeg.begin() + 2, segment.begin(), segment.end());
  write_bytes(dir / "rotated.jpg", jpeg);

  const auto plain = read_image(dir / "plain.jpg").pixels;
  const auto rotated = read_image(dir / "rotated.jpg").pixels;
  ASSERT_EQ(rotated.size(1), plain.size(2));
  ASSERT_EQ(rotated.size(2), plain.size(1));
  EXPECT_TRUE(torch::equal(rotated, torch::rot90(plain, -1, {1, 2})));
}

TEST(ImageIo, BadFilesAreInputErrorsNamingTheFile) {
  testing::TempDir dir;
  expect_input_error(testing::data_path("bad/truncated.jpg"), "truncated");
  expect_input_error(dir / "missing.png", "no such file");
  write_bytes(dir / "empty.png", {});
  expect_input_error(dir / "empty.png", "empty");
  write_bytes(dir / "text.png", {'h', 'e', 'l', 'l', 'o', '\n'});
  expect_input_error(dir / "text.png", "cannot be decoded");
  // A netpbm PAM with gray + alpha decodes to two channels, a layout srkit does not take.
  const std::string header =
      "P7\nWIDTH 4\nHEIGHT 4\nDEPTH 2\nMAXVAL 255\nTUPLTYPE GRAYSCALE_ALPHA\nENDHDR\n";
  std::vector<unsigned char> pam(header.begin(), header.end());
  pam.resize(pam.size() + 4 * 4 * 2, 128);
  write_bytes(dir / "two.pam", pam);
  expect_input_error(dir / "two.pam", "has 2 channels");
}

// A PNG whose header claims the given size, with a correct CRC and no pixel data.
std::vector<unsigned char> png_header(uint32_t width, uint32_t height) {
  std::vector<unsigned char> png{0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13};
  std::vector<unsigned char> chunk{'I', 'H', 'D', 'R'};
  for (uint32_t v : {width, height}) {
    for (int shift = 24; shift >= 0; shift -= 8) chunk.push_back((v >> shift) & 0xFF);
  }
  chunk.insert(chunk.end(), {8, 2, 0, 0, 0});  // 8-bit RGB
  const uLong crc = crc32(0, chunk.data(), static_cast<uInt>(chunk.size()));
  png.insert(png.end(), chunk.begin(), chunk.end());
  for (int shift = 24; shift >= 0; shift -= 8) png.push_back((crc >> shift) & 0xFF);
  return png;
}

TEST(ImageIo, AbsurdOrZeroDimensionsInTheHeaderAreRejected) {
  testing::TempDir dir;
  write_bytes(dir / "huge.png", png_header(2000000000u, 2000000000u));
  // Refused from its header by the pixel limit (io/image_limits.h), before OpenCV sees it.
  expect_input_error(dir / "huge.png", "declares a 2000000000x2000000000 image");
  write_bytes(dir / "zero.png", png_header(0, 100));
  expect_input_error(dir / "zero.png", "cannot be decoded");
}

TEST(ImageIo, WritesAreAtomicAndRefuseToOverwrite) {
  testing::TempDir dir;
  const auto pixels = torch::rand({3, 8, 8});
  write_image(dir / "d.png", pixels, 8);
  EXPECT_THROW(write_image(dir / "d.png", pixels, 8), Error);  // exists, no overwrite
  EXPECT_NO_THROW(write_image(dir / "d.png", pixels, 8, {true}));
  // A failing write (the folder does not exist) leaves nothing behind.
  EXPECT_THROW(write_image(dir / "no-such-folder" / "e.png", pixels, 8), Error);
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

}  // namespace
}  // namespace srkit
