// The readers of guided super-resolution data on the real files scripts/setup.sh fetches
// (data/guided/, from Debian packages; data.md describes them).
#include <cmath>
#include <fstream>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/io/depth_file.h"
#include "srkit/io/image_io.h"
#include "srkit/io/image_limits.h"
#include "srkit/io/nifti_file.h"
#include "srkit/io/numpy_file.h"
#include "srkit/io/raster_file.h"
#include "test_data.h"

namespace srkit {
namespace {

TEST(GuidedData, MiddleburyDisparityFromNpzMatchesItsPhotoAndDescription) {
  const auto disparity =
      read_depth_map(testing::data_path("guided/middlebury/motorcycle_disp.npz"));
  const auto photo = read_image(testing::data_path("guided/middlebury/motorcycle_left.png"));
  EXPECT_EQ(disparity.size(0), photo.pixels.size(1));
  EXPECT_EQ(disparity.size(1), photo.pixels.size(2));
  const auto known = torch::isfinite(disparity);
  const double unknown_fraction = 1.0 - known.to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(unknown_fraction, 0.073, 0.005);  // data.md: 7.3 % non-finite
  const auto values = disparity.masked_select(known);
  EXPECT_NEAR(values.min().item<double>(), 7.19, 0.01);
  EXPECT_NEAR(values.max().item<double>(), 59.91, 0.01);
  EXPECT_EQ(npz_keys(testing::data_path("guided/middlebury/motorcycle_disp.npz")),
            std::vector<std::string>{"arr_0"});
}

TEST(GuidedData, NpyParserReadsFortranOrderBigEndianAndUnsigned) {
  // Hand-made .npy files: a 2x3 big-endian uint16 array in Fortran order holds
  // [[1, 2, 3], [4, 5, 65535]] as the column-major sequence 1 4 2 5 3 65535.
  std::string header = "{'descr': '>u2', 'fortran_order': True, 'shape': (2, 3), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';  // the format aligns data to 64
  header += "\n";
  std::vector<char> bytes = {
      '\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<char>(header.size()), 0};
  bytes.insert(bytes.end(), header.begin(), header.end());
  for (int v : {1, 4, 2, 5, 3, 65535}) {
    bytes.push_back(static_cast<char>(v >> 8));
    bytes.push_back(static_cast<char>(v & 0xFF));
  }
  const auto array = parse_npy(bytes, "test.npy");
  EXPECT_TRUE(torch::equal(array, torch::tensor({{1.f, 2.f, 3.f}, {4.f, 5.f, 65535.f}})));
  bytes.resize(bytes.size() - 2);
  EXPECT_THROW(parse_npy(bytes, "short.npy"), Error);
}

// Headers a stranger's .npy can hold: each is an input Error, not a crash, an exception of the
// standard library or an allocation of its claimed size.
TEST(GuidedData, NpyParserRefusesImpossibleHeaders) {
  const auto npy = [](const std::string& descr, const std::string& shape) {
    std::string header =
        "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += "\n";
    std::vector<char> bytes = {
        '\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<char>(header.size()), 0};
    bytes.insert(bytes.end(), header.begin(), header.end());
    bytes.resize(bytes.size() + 16, 0);  // four float32 values
    return bytes;
  };
  EXPECT_EQ(parse_npy(npy("<f4", "(2, 2)"), "ok.npy").numel(), 4);
  for (const auto& [descr, shape] : std::vector<std::pair<std::string, std::string>>{
           {"<f4", "(4611686018427387904, 4)"},    // 2^62 x 4 x 4 bytes: 0 modulo 2^64
           {"<f4", "(99999999999999999999999,)"},  // beyond int64: std::stoll threw
           {"<fxx", "(2, 2)"},                     // std::stoi threw
           {"<f99999999999", "(2, 2)"},
           {"<f0", "(2, 2)"},
           {"<c8", "(2,)"}}) {
    EXPECT_THROW(parse_npy(npy(descr, shape), "bad.npy"), Error) << descr << " " << shape;
  }
}

TEST(GuidedData, CastleDepthFramesAlignWithTheirGrayImages) {
  for (int frame : {1, 40}) {
    char name[32];
    std::snprintf(name, sizeof name, "%04d", frame);
    const auto depth =
        read_depth_map(testing::data_path(std::string("guided/castle/Depth_") + name + ".bin"));
    const auto gray =
        read_image(testing::data_path(std::string("guided/castle/Image_") + name + ".pgm"));
    EXPECT_EQ(depth.sizes(), torch::IntArrayRef({480, 640}));
    EXPECT_EQ(gray.pixels.sizes(), torch::IntArrayRef({1, 480, 640}));
    EXPECT_GT(depth.max().item<float>(), depth.min().item<float>());  // a real depth range
    EXPECT_LE(depth.max().item<float>(), 65535.f);
  }
  // A truncated file is an error that names it.
  testing::TempDir dir;
  const auto broken = dir / "Depth_9999.bin";
  std::ofstream(broken, std::ios::binary) << std::string(
      "\xe0\x01\x00\x00\x80\x02\x00\x00"
      "abc",
      11);
  try {
    read_depth_map(broken);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_TRUE(testing::contains(e.what(), "Depth_9999.bin")) << e.what();
  }
}

TEST(GuidedData, LandsatBandsAndPanReadThroughGdalAtTheirResolutions) {
  const std::string stem = "guided/landsat8/LC08_L1TP_195025_20130707_20170503_01_T1_B";
  const auto blue = read_raster(testing::data_path(stem + "2.TIF"));
  const auto pan = read_raster(testing::data_path(stem + "8.TIF"));
  EXPECT_EQ(blue.bands.sizes(), torch::IntArrayRef({1, 41, 41}));
  EXPECT_EQ(pan.bands.sizes(), torch::IntArrayRef({1, 82, 82}));
  EXPECT_EQ(blue.data_type, "Int16");  // as stored in the package (data.md says uint16)
  EXPECT_DOUBLE_EQ(blue.pixel_size, 30.0);
  EXPECT_DOUBLE_EQ(pan.pixel_size, 15.0);
  EXPECT_GT(blue.bands.min().item<float>(), 0.f);  // real radiances, no fill in this crop
  const auto etm = read_raster(testing::data_path("guided/etm/L7_ETMs.tif"));
  EXPECT_EQ(etm.bands.sizes(), torch::IntArrayRef({6, 352, 349}));
  EXPECT_EQ(etm.data_type, "Byte");
  EXPECT_THROW(read_raster(testing::data_path("samples/../MANIFEST.sha256")), Error);
}

// Found by bench/fuzz.sh (target arrays): a 439-byte header declaring 24580x768x512 voxels of 2
// bytes made nifticlib allocate 19 GB before reading any. Refused from the header.
// A NIfTI-1 file declaring nx x ny x nz uint8 voxels (as nifticlib lays it out), holding only
// the first `voxels` of them.
std::string small_nifti(size_t voxels, int16_t nx = 4, int16_t ny = 3, int16_t nz = 2) {
  std::string header(348, '\0');
  const auto put = [&](size_t at, const void* value, size_t size) {
    header.replace(at, size, static_cast<const char*>(value), size);
  };
  const int32_t sizeof_hdr = 348;
  const int16_t dims[8] = {3, nx, ny, nz, 1, 1, 1, 1};
  const int16_t type[2] = {2, 8};  // DT_UINT8, 8 bits
  const float pixdim[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  const float vox_offset = 352;
  put(0, &sizeof_hdr, 4);
  put(40, dims, 16);
  put(70, type, 4);
  put(76, pixdim, 32);
  put(108, &vox_offset, 4);
  put(344, "n+1", 4);
  std::string data(4, '\0');
  for (size_t v = 0; v < voxels; ++v) data += static_cast<char>(v);
  return header + data;
}

TEST(GuidedData, NiftiHeadersDeclaringMoreThanTheyHoldAreRefused) {
  testing::TempDir dir;
  const auto fixture = std::filesystem::path(SRKIT_FIXTURES) / "fuzz" / "nifti_declares_19gb.nii";
  std::filesystem::copy_file(fixture, dir / "bomb.nii");
  try {
    read_nifti(dir / "bomb.nii");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("9665249280 voxels"), std::string::npos) << e.what();
  }
  // Found by bench/fuzz.sh as well: 254 million complex voxels (8 GB) that nifticlib allocated
  // before srkit saw their type; and a gzip name on a file too small to inflate to its voxels.
  std::filesystem::copy_file(
      std::filesystem::path(SRKIT_FIXTURES) / "fuzz" / "nifti_declares_8gb_of_complex.nii.gz",
      dir / "complex.nii.gz");
  try {
    read_nifti(dir / "complex.nii.gz");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("voxels of type 2048"), std::string::npos) << e.what();
  }
  std::ofstream(dir / "bomb.nii.gz", std::ios::binary) << small_nifti(24, 30000, 30000, 1);
  try {
    read_nifti(dir / "bomb.nii.gz");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("more than a gzip file of its size can hold"),
              std::string::npos)
        << e.what();
  }
}

// An uncompressed volume shorter than its header declares is refused, naming the file, before
// nifticlib reads it (which would fill the rest with whatever the buffer held).
TEST(GuidedData, TruncatedNiftiVolumesAreRefused) {
  testing::TempDir dir;
  std::ofstream(dir / "whole.nii", std::ios::binary) << small_nifti(24);
  EXPECT_EQ(read_nifti(dir / "whole.nii").voxels.sum().item<double>(), 23 * 24 / 2);
  std::ofstream(dir / "cut.nii", std::ios::binary) << small_nifti(10);
  try {
    read_nifti(dir / "cut.nii");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cut.nii: is shorter than the voxels its header declares"),
              std::string::npos)
        << e.what();
  }
}

// A GeoTIFF whose header declares more samples than the pixel limit allows is refused before
// anything is allocated.
TEST(GuidedData, RastersDeclaringTooManyPixelsAreRefused) {
  testing::TempDir dir;
  Raster raster;
  raster.bands = torch::rand({3, 40, 50});
  write_raster(dir / "small.tif", raster);
  EXPECT_EQ(read_raster(dir / "small.tif").bands.sizes(), torch::IntArrayRef({3, 40, 50}));
  set_max_image_pixels(1000);
  try {
    read_raster(dir / "small.tif");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("declares a 50x40 image"), std::string::npos) << e.what();
  }
  set_max_image_pixels(2000);  // each band (2000 pixels) within; 9 bands above 4 x the limit
  raster.bands = torch::rand({9, 40, 50});
  write_raster(dir / "bands.tif", raster);
  try {
    read_raster(dir / "bands.tif");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("declares 9 bands of 50x40 pixels"), std::string::npos)
        << e.what();
  }
  set_max_image_pixels(kDefaultMaxImagePixels);
}

TEST(GuidedData, NiftiVolumesReadWithTheirGeometry) {
  const auto colin = read_nifti(testing::data_path("guided/colin27/ch2.nii.gz"));
  EXPECT_EQ(colin.voxels.sizes(), torch::IntArrayRef({181, 217, 181}));
  EXPECT_DOUBLE_EQ(colin.spacing[0], 1.0);
  const auto axial = nifti_slice(colin, 2, 90);
  EXPECT_EQ(axial.sizes(), torch::IntArrayRef({217, 181}));
  EXPECT_GT(axial.std().item<float>(), 0.f);  // anatomy, not an empty slice
  const auto kmeans =
      read_nifti(testing::data_path("guided/brainweb/KmeansTest_T1UCharRaw.nii.gz"));
  EXPECT_EQ(kmeans.voxels.sizes(), torch::IntArrayRef({62, 128, 128}));
  EXPECT_THROW(read_nifti(testing::data_path("guided/brainweb/BrainT1Slice.png")), Error);
}

TEST(GuidedData, BrainWebContrastsArePixelAligned) {
  // The PNGs store gray values (T1 as three equal channels).
  const auto t1 =
      read_image(testing::data_path("guided/brainweb/BrainT1Slice.png")).pixels.mean(0, true);
  const auto pd = read_image(testing::data_path("guided/brainweb/BrainProtonDensitySlice.png"))
                      .pixels.mean(0, true);
  EXPECT_EQ(t1.sizes(), torch::IntArrayRef({1, 217, 181}));
  EXPECT_EQ(pd.sizes(), t1.sizes());
  // Same anatomy: the head masks (non-background) overlap almost entirely.
  const auto head_t1 = t1 > 0.05, head_pd = pd > 0.05;
  const double overlap =
      (head_t1 & head_pd).sum().item<double>() / (head_t1 | head_pd).sum().item<double>();
  EXPECT_GT(overlap, 0.9);
}

}  // namespace
}  // namespace srkit
