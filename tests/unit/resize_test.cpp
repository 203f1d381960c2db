// MATLAB-compatible bicubic resize against GNU Octave's imresize
// (tests/reference/imresize_reference.m produced tests/fixtures/imresize_octave.txt) and against
// properties any correct resampler has.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/ops/resize.h"

namespace srkit {
namespace {

torch::Tensor pattern() {  // img(r,c) = mod(r*7 + c*13, 17)/16 + 0.05*r, 1-based, 10 x 13
  auto img = torch::empty({10, 13}, torch::kFloat64);
  for (int r = 1; r <= 10; ++r) {
    for (int c = 1; c <= 13; ++c) img[r - 1][c - 1] = ((r * 7 + c * 13) % 17) / 16.0 + 0.05 * r;
  }
  return img;
}

struct OctaveCase {
  std::string header;
  int64_t rows = 0, cols = 0;
  std::vector<double> values;
};

std::vector<OctaveCase> read_octave_cases() {
  std::ifstream in(std::string(SRKIT_FIXTURES) + "/imresize_octave.txt");
  EXPECT_TRUE(in) << "missing tests/fixtures/imresize_octave.txt";
  std::vector<OctaveCase> cases;
  std::string line;
  while (std::getline(in, line)) {
    const auto arrow = line.find("-> ");
    if (arrow == std::string::npos) continue;
    OctaveCase c;
    c.header = line.substr(0, arrow - 1);
    char x;
    std::istringstream(line.substr(arrow + 3)) >> c.rows >> x >> c.cols;
    std::getline(in, line);
    std::istringstream values(line);
    for (double v; values >> v;) c.values.push_back(v);
    cases.push_back(c);
  }
  return cases;
}

TEST(ResizeBicubic, MatchesOctaveImresize) {
  const auto cases = read_octave_cases();
  ASSERT_EQ(cases.size(), 4u);
  const auto img = pattern();
  for (const auto& c : cases) {
    const auto out = resize_bicubic(img, std::stod(c.header.substr(6)));
    ASSERT_EQ(out.size(0), c.rows) << c.header;
    ASSERT_EQ(out.size(1), c.cols) << c.header;
    const auto expected = torch::tensor(c.values, torch::kFloat64).view({c.rows, c.cols});
    EXPECT_LT((out - expected).abs().max().item<double>(), 1e-8) << c.header;
  }
}

TEST(ResizeBicubic, UpscaleReproducesALinearRampInside) {
  // f(r,c) = 4(r-1) + (c-1). Output (4,4) of a x2 upscale sits at input (2.25, 2.25), whose taps
  // all fall inside the image; cubic convolution with a = -0.5 reproduces linear functions.
  const auto ramp = torch::arange(16, torch::kFloat64).view({4, 4});
  const auto up = resize_bicubic(ramp, 2.0);
  ASSERT_EQ(up.size(0), 8);
  EXPECT_NEAR(up[3][3].item<double>(), 4 * 1.25 + 1.25, 1e-12);
}

TEST(ResizeBicubic, WeightRowsSumToOneAndConstantsSurvive) {
  for (const double scale : {0.25, 1.0 / 3.0, 0.5, 2.0, 3.0}) {
    const int64_t in = 17;
    const auto out = static_cast<int64_t>(std::ceil(in * scale - 1e-9));
    const auto w = bicubic_weights(in, out, scale);
    EXPECT_LT((w.sum(1) - 1).abs().max().item<double>(), 1e-12) << scale;
  }
  const auto flat = torch::full({3, 21, 34}, 0.37, torch::kFloat32);
  const auto small = resize_bicubic(flat, 0.25);
  EXPECT_EQ(small.sizes(), torch::IntArrayRef({3, 6, 9}));
  EXPECT_LT((small - 0.37).abs().max().item<double>(), 1e-6);
}

TEST(ResizeBicubic, TapByTapEqualsTheDenseMatrixTwin) {
  const auto image = torch::rand({2, 23, 31}, torch::kFloat64);
  for (const double scale : {0.25, 0.4, 0.5, 1.5, 3.0}) {
    const auto fast = resize_bicubic(image, scale);
    const auto rows = bicubic_weights(23, fast.size(1), scale);
    const auto cols = bicubic_weights(31, fast.size(2), scale);
    const auto dense = torch::matmul(torch::matmul(rows, image), cols.t());
    EXPECT_LT((fast - dense).abs().max().item<double>(), 1e-12) << scale;
  }
}

TEST(ResizeBicubic, RowBandsEqualTheWholeResizeBitForBit) {
  torch::manual_seed(3);
  const auto image = torch::rand({3, 37, 29}, torch::kFloat32);
  // Up by 4 (the alpha of an x4 model), up by 3/4 of that (a scale the model does not offer), and
  // down (antialiased, a wider kernel).
  for (const auto& [out_h, out_w] : {std::pair<int64_t, int64_t>{148, 116}, {111, 87}, {13, 11}}) {
    const auto whole = resize_bicubic(image, out_h, out_w);
    const BicubicRows resize(37, 29, out_h, out_w);
    for (const int64_t band : {1, 7, 64}) {
      for (int64_t begin = 0; begin < out_h; begin += band) {
        const int64_t end = std::min(out_h, begin + band);
        const auto [first, last] = resize.input_rows(begin, end);
        ASSERT_GE(first, 0);
        ASSERT_LE(last, 37);
        const auto rows = resize.rows(image.slice(1, first, last), first, begin, end);
        ASSERT_TRUE(torch::equal(rows, whole.slice(1, begin, end)))
            << out_h << "x" << out_w << " rows " << begin << ".." << end;
      }
    }
    // A band that misses rows the output reads is refused, not resampled from the wrong rows.
    const auto [first, last] = resize.input_rows(0, out_h);
    EXPECT_THROW(resize.rows(image.slice(1, first + 1, last), first + 1, 0, out_h), c10::Error);
  }
}

TEST(ResizeBicubic, OneThirdOfADivisibleSizeIsExact) {
  // 255 * (1/3) is 85.00000000000001 in floating point; MATLAB's size is 85.
  EXPECT_EQ(resize_bicubic(torch::zeros({255, 30}), 1.0 / 3.0).size(0), 85);
}

}  // namespace
}  // namespace srkit
