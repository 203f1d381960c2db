// Writing a file a band of rows at a time (ImageWriter) against writing it whole: for every format,
// bit depth and channel layout, odd sizes and ragged bands, the file reads back to exactly the
// values write_image's rounding promises (stored_values). And the writer's promises: no partial
// file under the final name, refusals that name the file.
#include <fstream>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/io/image_io.h"
#include "srkit/io/image_writer.h"
#include "test_data.h"

namespace srkit {
namespace {

// A photo crop of odd size with values past [0,1] at one corner (the writer clamps) and, for
// RGBA, a ramp of alpha.
torch::Tensor test_pixels(int64_t channels) {
  const auto photo = read_image(testing::data_path("samples/chelsea.png")).pixels;
  auto rgb = photo.slice(1, 10, 47).slice(2, 20, 73).clone();  // 37 x 53
  rgb.slice(1, 0, 3).slice(2, 0, 3).mul_(1.7).sub_(0.2);
  if (channels == 1) return rgb.mean(0, true);
  if (channels == 3) return rgb;
  const auto alpha = torch::linspace(0, 1, rgb.size(2)).view({1, 1, -1}).expand({1, 37, -1});
  return torch::cat({rgb, alpha}, 0);
}

// Writes `pixels` in bands of 1, 5, 13, ... rows.
int write_in_bands(const std::filesystem::path& path, const torch::Tensor& pixels, int bit_depth) {
  ImageWriter out(path, {pixels.size(1), pixels.size(2), pixels.size(0), bit_depth});
  for (int64_t first = 0, band = 1; first < pixels.size(1); first += band, band = band * 2 + 3) {
    out.write_rows(pixels.slice(1, first, std::min(pixels.size(1), first + band)));
  }
  out.commit();
  return out.bit_depth();
}

std::vector<std::filesystem::path> files_in(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) files.push_back(entry.path());
  return files;
}

TEST(ImageWriter, BandsReadBackAsTheStoredValuesInEveryStreamedFormat) {
  testing::TempDir dir;
  for (const char* ext : {".png", ".tif"}) {
    for (const int64_t channels : {1, 3, 4}) {
      for (const int bits : {8, 16, 32}) {
        const auto name = "p" + std::to_string(channels) + "_" + std::to_string(bits) + ext;
        SCOPED_TRACE(name);
        const auto pixels = test_pixels(channels);
        const int written = write_in_bands(dir / name, pixels, bits);
        EXPECT_EQ(written, written_bit_depth(dir / name, bits));
        const auto back = read_image(dir / name);
        EXPECT_EQ(back.bit_depth, written);
        ASSERT_EQ(back.pixels.sizes(), pixels.sizes());
        EXPECT_TRUE(torch::equal(back.pixels, stored_values(pixels, written)))
            << "max difference "
            << (back.pixels - stored_values(pixels, written)).abs().max().item<double>();
      }
    }
  }
  EXPECT_EQ(written_bit_depth("x.tif", 32), 32);  // float TIFF stays float, lossless
  EXPECT_EQ(written_bit_depth("x.png", 32), 16);
}

// Rows handed over as the file's samples (quantized early, as the upscaler does for exact tiles)
// make the same file as the values; samples of another depth are refused.
TEST(ImageWriter, SamplesGiveTheSameFileAsTheValues) {
  testing::TempDir dir;
  for (const char* ext : {".png", ".tif", ".jpg"}) {
    for (const int bits : {8, 16}) {
      const int written = written_bit_depth(std::string("x") + ext, bits);
      if (written != bits) continue;  // JPEG has no 16-bit
      const auto name = std::to_string(bits) + ext;
      SCOPED_TRACE(name);
      const auto pixels = test_pixels(4 - (ext[1] == 'j'));
      write_in_bands(dir / ("values" + name), pixels, bits);
      write_in_bands(dir / ("samples" + name), file_samples(pixels, bits), bits);
      EXPECT_TRUE(torch::equal(read_image(dir / ("samples" + name)).pixels,
                               read_image(dir / ("values" + name)).pixels));
    }
  }
  ImageWriter out(dir / "mismatch.png", {2, 3, 3, 16});
  EXPECT_THROW(out.write_rows(torch::zeros({3, 1, 3}, torch::kUInt8)), Error);
}

TEST(ImageWriter, HeldFormatsEqualTheWholeImageWrite) {
  testing::TempDir dir;
  for (const std::string ext : {".jpg", ".webp", ".bmp", ".ppm"}) {
    SCOPED_TRACE(ext);
    const auto pixels = test_pixels(3);
    const auto bands = dir / ("bands" + ext), whole = dir / ("whole" + ext);
    write_in_bands(bands, pixels, 8);
    write_image(whole, pixels, 8);
    EXPECT_TRUE(torch::equal(read_image(bands).pixels, read_image(whole).pixels));
    EXPECT_EQ(writer_memory_bytes(whole, {37, 53, 3, 8}), 37 * 53 * 3);
  }
  EXPECT_EQ(writer_memory_bytes("x.png", {1000, 2000, 4, 16}), 2000 * 4 * 2);  // one row
}

TEST(ImageWriter, NothingAppearsUnderTheNameUntilCommit) {
  testing::TempDir dir;
  const auto pixels = test_pixels(3);
  for (const char* name : {"a.png", "a.tif", "a.jpg"}) {
    SCOPED_TRACE(name);
    {
      ImageWriter out(dir / name, {37, 53, 3, 8});
      out.write_rows(pixels.slice(1, 0, 20));
      EXPECT_FALSE(std::filesystem::exists(dir / name));
      try {
        out.commit();
        FAIL() << "an incomplete image was committed";
      } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::kOutput);
        EXPECT_TRUE(testing::contains(e.what(), "20 of 37 rows")) << e.what();
      }
    }  // destroyed without commit: the temporary file goes
    EXPECT_TRUE(files_in(dir.path()).empty()) << files_in(dir.path()).front();
  }
  // Rows of another width, or past the last row, are refused.
  ImageWriter out(dir / "b.png", {37, 53, 3, 8});
  EXPECT_THROW(out.write_rows(pixels.slice(2, 0, 50)), Error);
  out.write_rows(pixels);
  EXPECT_THROW(out.write_rows(pixels.slice(1, 0, 1)), Error);
}

TEST(ImageWriter, RefusesAnExistingFileAndAnUnwritablePlaceNamingThem) {
  testing::TempDir dir;
  const auto pixels = test_pixels(1);
  write_image(dir / "x.png", pixels, 8);
  try {
    ImageWriter out(dir / "x.png", {37, 53, 1, 8});
    FAIL() << "an existing file was opened for writing";
  } catch (const Error& e) {
    EXPECT_TRUE(testing::contains(e.what(), "already exists")) << e.what();
  }
  WriteOptions overwrite;
  overwrite.overwrite = true;
  EXPECT_NO_THROW(ImageWriter(dir / "x.png", {37, 53, 1, 8}, overwrite));
  for (const char* name : {"no/such/folder/y.png", "no/such/folder/y.tif"}) {
    try {
      ImageWriter out(dir / name, {37, 53, 1, 8});
      FAIL() << name << " was created";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kOutput);
      EXPECT_TRUE(testing::contains(e.what(), name)) << e.what();
    }
  }
}

}  // namespace
}  // namespace srkit
