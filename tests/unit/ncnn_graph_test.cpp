// The ncnn reader and each layer of nn/ncnn_graph.h against its definition (ncnn's layer
// documentation), written out as plain loops or formulas on small tensors.
#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/io/ncnn_model.h"
#include "srkit/nn/ncnn_graph.h"
#include "support/temp_dir.h"

namespace srkit {
namespace {

NcnnLayerSpec layer(std::string type, std::string name, std::vector<std::string> in,
                    std::vector<std::string> out, std::map<int, std::vector<double>> params = {},
                    std::vector<torch::Tensor> weights = {}) {
  NcnnLayerSpec l;
  l.type = std::move(type);
  l.name = std::move(name);
  l.bottoms = std::move(in);
  l.tops = std::move(out);
  l.params.values = std::move(params);
  l.weights = std::move(weights);
  return l;
}

// A graph: Input "x" -> the given layers; the last blob nobody reads is the output.
torch::Tensor run(std::vector<NcnnLayerSpec> layers, const torch::Tensor& x) {
  NcnnGraphSpec spec;
  spec.source = "test.param";
  spec.layers.push_back(layer("Input", "in", {}, {"x"}));
  for (auto& l : layers) spec.layers.push_back(std::move(l));
  NcnnGraph graph(spec);
  return graph->forward(x);
}

TEST(NcnnLayers, ConvolutionWithPaddingStrideAndLeakyReluIsTheSumItDefines) {
  torch::manual_seed(1);
  const auto x = torch::randn({1, 2, 5, 6});
  const auto w = torch::randn({3 * 2 * 3 * 3});
  const auto b = torch::randn({3});
  // 0=out 1=kernel 3=stride 4=pad 5=bias 6=size 9=leaky 10=slope
  const auto y = run(
      {layer("Convolution", "c", {"x"}, {"y"},
             {{0, {3}}, {1, {3}}, {3, {2}}, {4, {1}}, {5, {1}}, {6, {54}}, {9, {2}}, {10, {0.1}}},
             {w, b})},
      x);
  const auto W = w.view({3, 2, 3, 3});
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{1, 3, 3, 3}));
  for (int o = 0; o < 3; ++o) {
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) {
        double sum = b[o].item<double>();
        for (int c = 0; c < 2; ++c) {
          for (int ky = 0; ky < 3; ++ky) {
            for (int kx = 0; kx < 3; ++kx) {
              const int yy = i * 2 + ky - 1, xx = j * 2 + kx - 1;
              if (yy < 0 || yy >= 5 || xx < 0 || xx >= 6) continue;
              sum += x[0][c][yy][xx].item<double>() * W[o][c][ky][kx].item<double>();
            }
          }
        }
        const double expected = sum > 0 ? sum : 0.1 * sum;
        EXPECT_NEAR(y[0][o][i][j].item<double>(), expected, 1e-4);
      }
    }
  }
}

TEST(NcnnLayers, DeconvolutionScattersEachInputTimesItsKernelThenCutsThePadding) {
  torch::manual_seed(2);
  const auto x = torch::randn({1, 2, 3, 3});
  const auto w = torch::randn({4 * 2 * 4 * 4});  // ncnn order: [out][in][ky][kx]
  const auto y = run({layer("Deconvolution", "d", {"x"}, {"y"},
                            {{0, {4}}, {1, {4}}, {3, {2}}, {4, {1}}, {6, {128}}}, {w})},
                     x);
  const auto W = w.view({4, 2, 4, 4});
  const int full = (3 - 1) * 2 + 4;  // 8, then 1 cut from each side
  auto expected = torch::zeros({4, full, full});
  for (int o = 0; o < 4; ++o)
    for (int c = 0; c < 2; ++c)
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
          for (int ky = 0; ky < 4; ++ky)
            for (int kx = 0; kx < 4; ++kx)
              expected[o][i * 2 + ky][j * 2 + kx] += x[0][c][i][j] * W[o][c][ky][kx];
  expected = expected.slice(1, 1, full - 1).slice(2, 1, full - 1);
  EXPECT_TRUE(torch::allclose(y[0], expected, 1e-4, 1e-5));
}

TEST(NcnnLayers, SqueezeExcitationChainPoolsInnerProductsAndScalesPerChannel) {
  torch::manual_seed(3);
  const auto x = torch::randn({1, 4, 5, 5});
  const auto w1 = torch::randn({2 * 4}), w2 = torch::randn({4 * 2}), b2 = torch::randn({4});
  // The gate g of a squeeze-excitation block, then `apply` (the last layer) multiplies b by it.
  const auto gated = [&](NcnnLayerSpec apply) {
    return run({layer("Split", "s", {"x"}, {"a", "b"}),
                layer("Pooling", "gap", {"a"}, {"m"}, {{0, {1}}, {4, {1}}}),
                layer("InnerProduct", "fc1", {"m"}, {"h"}, {{0, {2}}, {2, {8}}, {9, {1}}}, {w1}),
                layer("InnerProduct", "fc2", {"h"}, {"g"}, {{0, {4}}, {1, {1}}, {2, {8}}, {9, {4}}},
                      {w2, b2}),
                std::move(apply)},
               x);
  };
  const auto y = gated(layer("BinaryOp", "mul", {"b", "g"}, {"y"}, {{0, {2}}}));
  const auto mean = x[0].mean({1, 2});
  const auto h = torch::relu(torch::mv(w1.view({2, 4}), mean));
  const auto g = torch::sigmoid(torch::mv(w2.view({4, 2}), h) + b2);
  EXPECT_TRUE(torch::allclose(y[0], x[0] * g.view({4, 1, 1}), 1e-4, 1e-5));
  // The same through Scale with the gate as its second blob.
  const auto z = gated(layer("Scale", "scale", {"b", "g"}, {"y"}, {{0, {-233}}}));
  EXPECT_TRUE(torch::allclose(z, y));
}

TEST(NcnnLayers, CropNumpyStyleAndByReference) {
  const auto x = torch::arange(2 * 9 * 10, torch::kFloat).view({1, 2, 9, 10});
  // -23309 starts, -23310 ends, -23311 axes: rows 2..-2, columns 3..-1
  const auto y =
      run({layer("Crop", "c", {"x"}, {"y"}, {{9, {2, 3}}, {10, {-2, -1}}, {11, {-2, -1}}})}, x);
  EXPECT_TRUE(torch::equal(y, x.slice(2, 2, 7).slice(3, 3, 9)));
  const auto z = run({layer("Split", "s", {"x"}, {"a", "b"}),
                      layer("Crop", "r", {"a"}, {"small"}, {{9, {1}}, {10, {-1}}, {11, {-1}}}),
                      layer("Crop", "c", {"b", "small"}, {"y"}, {{0, {1}}, {1, {0}}})},
                     x);
  EXPECT_TRUE(torch::equal(z, x.slice(3, 1, 9)));
}

TEST(NcnnLayers, EltwiseSumsWithCoefficientsAndConcatJoinsChannels) {
  const auto x = torch::randn({1, 3, 4, 4});
  const auto y = run({layer("Split", "s", {"x"}, {"a", "b"}),
                      layer("Eltwise", "e", {"a", "b"}, {"y"}, {{0, {1}}, {1, {0.2, 1.0}}})},
                     x);
  EXPECT_TRUE(torch::allclose(y, 1.2 * x));
  const auto z =
      run({layer("Split", "s", {"x"}, {"a", "b"}), layer("Concat", "c", {"a", "b"}, {"y"})}, x);
  EXPECT_TRUE(torch::equal(z, torch::cat({x, x}, 1)));
}

TEST(NcnnLayers, PixelShuffleModesOrderChannelsAsPyTorchAndAsTensorFlow) {
  const auto x = torch::arange(8 * 2 * 3, torch::kFloat).view({1, 8, 2, 3});
  const auto torch_order = run({layer("PixelShuffle", "p", {"x"}, {"y"}, {{0, {2}}})}, x);
  const auto tf_order = run({layer("PixelShuffle", "p", {"x"}, {"y"}, {{0, {2}}, {1, {1}}})}, x);
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 6; ++j) {
        const int dy = i % 2, dx = j % 2;
        EXPECT_EQ(torch_order[0][c][i][j].item<float>(),
                  x[0][c * 4 + dy * 2 + dx][i / 2][j / 2].item<float>());
        EXPECT_EQ(tf_order[0][c][i][j].item<float>(),
                  x[0][(dy * 2 + dx) * 2 + c][i / 2][j / 2].item<float>());
      }
}

// ncnn's bicubic: A = -0.75, source x = (dx + 0.5) * in / out - 0.5, edge pixels repeated.
double cubic(double t) {
  const double a = -0.75;
  t = std::abs(t);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

TEST(NcnnLayers, InterpNearestAndBicubicFollowNcnnsSamplingRules) {
  torch::manual_seed(4);
  const auto x = torch::rand({1, 1, 6, 8});
  const auto up = run({layer("Interp", "i", {"x"}, {"y"}, {{0, {1}}, {1, {2.0}}, {2, {2.0}}})}, x);
  EXPECT_TRUE(torch::equal(up, x.repeat_interleave(2, 2).repeat_interleave(2, 3)));
  const auto down =
      run({layer("Interp", "i", {"x"}, {"y"}, {{0, {3}}, {1, {0.5}}, {2, {0.5}}})}, x);
  ASSERT_EQ(down.sizes(), (std::vector<int64_t>{1, 1, 3, 4}));
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) {
      const double sy = (i + 0.5) * 2 - 0.5, sx = (j + 0.5) * 2 - 0.5;
      const int y0 = static_cast<int>(std::floor(sy)), x0 = static_cast<int>(std::floor(sx));
      double v = 0;
      for (int a = -1; a <= 2; ++a)
        for (int b = -1; b <= 2; ++b) {
          const int yy = std::clamp(y0 + a, 0, 5), xx = std::clamp(x0 + b, 0, 7);
          v += cubic(sy - (y0 + a)) * cubic(sx - (x0 + b)) * x[0][0][yy][xx].item<double>();
        }
      EXPECT_NEAR(down[0][0][i][j].item<double>(), v, 1e-5);
    }
}

TEST(NcnnLayers, PReLUAndScalarBinaryOps) {
  const auto x = torch::randn({1, 2, 3, 3});
  const auto slope = torch::tensor({0.1f, 0.3f});
  const auto y = run({layer("PReLU", "p", {"x"}, {"y"}, {{0, {2}}}, {slope})}, x);
  const auto expected = torch::where(x > 0, x, x * slope.view({1, 2, 1, 1}));
  EXPECT_TRUE(torch::allclose(y, expected));
  const auto z = run({layer("BinaryOp", "b", {"x"}, {"y"}, {{0, {7}}, {1, {1}}, {2, {3.0}}})}, x);
  EXPECT_TRUE(torch::allclose(z, 3.0 - x));  // rsub with a scalar
}

TEST(NcnnLayers, TheGraphReportsShapesAndAGlobalContext) {
  NcnnGraphSpec spec;
  spec.source = "test.param";
  spec.layers = {layer("Input", "in", {}, {"x"}),
                 layer("Convolution", "c", {"x"}, {"y"}, {{0, {4}}, {1, {3}}, {6, {108}}},
                       {torch::zeros({108})})};
  NcnnGraph graph(spec);
  EXPECT_EQ(graph->output_shape(3, 10, 12), (std::vector<int64_t>{4, 8, 10}));
  EXPECT_FALSE(graph->global_context());
  EXPECT_DOUBLE_EQ(graph->stats(3, 10, 12).receptive_radius, 1.0);
  EXPECT_THROW(graph->output_shape(5, 10, 12), Error);  // wrong channel count: a setup error
}

// ---- the file reader -------------------------------------------------------------------------

void write(const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; }

void write_bin(const std::filesystem::path& p, uint32_t tag, const std::vector<float>& values,
               const std::vector<float>& raw_after = {}) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(&tag), 4);
  if (tag == 0x01306B47) {
    const auto half = torch::tensor(values).to(torch::kHalf);
    out.write(reinterpret_cast<const char*>(half.data_ptr()), values.size() * 2);
    if (values.size() % 2) out.write("\0\0", 2);
  } else {
    out.write(reinterpret_cast<const char*>(values.data()), values.size() * 4);
  }
  out.write(reinterpret_cast<const char*>(raw_after.data()), raw_after.size() * 4);
}

const char* kParam =
    "7767517\n2 2\nInput in 0 1 data\n"
    "Convolution conv 1 1 data out 0=1 1=1 5=1 6=3 9=2 -23310=1,2.000000e-01\n";

TEST(NcnnReader, ReadsFp16AndFp32WeightsAndArrayParameters) {
  testing::TempDir dir;
  write(dir / "m.param", kParam);
  write_bin(dir / "m.bin", 0x01306B47, {0.5f, -1.f, 2.f}, {0.25f});
  auto spec = read_ncnn_model(dir / "m.param", dir / "m.bin");
  ASSERT_EQ(spec.layers.size(), 2u);
  EXPECT_EQ(spec.layers[1].params.get_array(10), std::vector<double>{0.2});
  EXPECT_TRUE(torch::equal(spec.layers[1].weights[0], torch::tensor({0.5f, -1.f, 2.f})));
  EXPECT_TRUE(torch::equal(spec.layers[1].weights[1], torch::tensor({0.25f})));
  write_bin(dir / "m.bin", 0, {0.1f, 0.2f, 0.3f}, {0.f});
  spec = read_ncnn_model(dir / "m.param", dir / "m.bin");
  EXPECT_TRUE(torch::equal(spec.layers[1].weights[0], torch::tensor({0.1f, 0.2f, 0.3f})));
}

void expect_setup_error(const std::function<void()>& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning " << part;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kSetup);
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(NcnnReader, RefusesWhatItCannotRunNamingTheFileAndLayer) {
  testing::TempDir dir;
  const auto param = dir / "m.param", bin = dir / "m.bin";
  write(param, kParam);
  write_bin(bin, 0x000D4B38, {1, 2, 3});
  expect_setup_error([&] { read_ncnn_model(param, bin); }, "int8");
  write_bin(bin, 0x01306B47, {1, 2, 3});  // the bias is missing
  expect_setup_error([&] { read_ncnn_model(param, bin); }, "conv");
  write_bin(bin, 0x01306B47, {1, 2, 3}, {0.f, 7.f});  // one float too many
  expect_setup_error([&] { read_ncnn_model(param, bin); }, "longer");
  std::filesystem::remove(bin);  // the weights are not beside the .param
  expect_setup_error([&] { read_ncnn_model(param, bin); }, "m.bin");
  write(param, "7767517\n2 2\nInput in 0 1 data\nSoftmax sm 1 1 data out\n");
  expect_setup_error([&] { read_ncnn_model(param, ""); }, "layer sm is of type Softmax");
  write(param, "7767518\n");
  expect_setup_error([&] { read_ncnn_model(param, ""); }, "m.param");
}

// A stranger's file announces more than it holds: refused before anything of that size is
// allocated (each case asked for gigabytes before).
TEST(NcnnReader, RefusesSizesItsFilesCannotHold) {
  testing::TempDir dir;
  const auto param = dir / "m.param", bin = dir / "m.bin";
  write(param, "7767517\n2000000000 2\nInput in 0 1 data\n");
  expect_setup_error([&] { read_ncnn_model(param, ""); }, "more layers or blobs");
  write(param, "7767517\n1 2\nInput in 0 2000000000 data\n");
  expect_setup_error([&] { read_ncnn_model(param, ""); }, "expected 'type name");
  write(param,
        "7767517\n2 2\nInput in 0 1 data\n"
        "Convolution conv 1 1 data out 0=1 1=1 5=1 6=2000000000\n");
  write_bin(bin, 0, {1, 2, 3}, {0.f});
  expect_setup_error([&] { read_ncnn_model(param, bin); }, "ends inside the weights of layer conv");
}

}  // namespace
}  // namespace srkit
