// The TF.js layers-model reader and the Keras graph module on a small model written by the test,
// checked against a direct computation (HWIO kernels, TF depth_to_space order done by loops).
#include <filesystem>
#include <fstream>
#include <functional>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "srkit/core/error.h"
#include "srkit/io/tfjs_model.h"
#include "srkit/nn/keras_graph.h"
#include "support/temp_dir.h"

namespace srkit {
namespace {

nlohmann::json conv_layer(const std::string& name, const std::string& input, int filters, int k,
                          const std::string& activation = "linear") {
  return {{"class_name", "Conv2D"},
          {"name", name},
          {"config",
           {{"filters", filters},
            {"kernel_size", {k, k}},
            {"strides", {1, 1}},
            {"padding", "same"},
            {"dilation_rate", {1, 1}},
            {"activation", activation},
            {"use_bias", true}}},
          {"inbound_nodes", {{{input, 0, 0, nlohmann::json::object()}}}}};
}

// Input(3) -> Conv2D 3x3 -> 12 (relu) -> PixelShuffle2x -> 3 channels at twice the size.
struct TinyModel {
  testing::TempDir temp;
  std::filesystem::path dir = temp.path();
  torch::Tensor kernel_hwio, bias;

  explicit TinyModel(const std::string& extra_layer_class = "") {
    torch::manual_seed(3);
    kernel_hwio = torch::randn({3, 3, 3, 12});
    bias = torch::randn({12});
    nlohmann::json layers = nlohmann::json::array();
    layers.push_back({{"class_name", "InputLayer"},
                      {"name", "in"},
                      {"config", {{"batch_input_shape", {nullptr, nullptr, nullptr, 3}}}},
                      {"inbound_nodes", nlohmann::json::array()}});
    layers.push_back(conv_layer("c1", "in", 12, 3, "relu"));
    layers.push_back({{"class_name", "PixelShuffle2x"},
                      {"name", "ps"},
                      {"config", {{"scale", 2}}},
                      {"inbound_nodes", {{{"c1", 0, 0, nlohmann::json::object()}}}}});
    std::string output = "ps";
    if (!extra_layer_class.empty()) {
      layers.push_back({{"class_name", extra_layer_class},
                        {"name", "odd"},
                        {"config", {}},
                        {"inbound_nodes", {{{"ps", 0, 0, nlohmann::json::object()}}}}});
      output = "odd";
    }
    nlohmann::json model = {
        {"format", "layers-model"},
        {"modelTopology",
         {{"model_config",
           {{"class_name", "Functional"},
            {"config",
             {{"layers", layers},
              {"input_layers", {{"in", 0, 0}}},
              {"output_layers", {{output, 0, 0}}}}}}}}},
        {"weightsManifest",
         {{{"paths", {"group1-shard1of1.bin"}},
           {"weights",
            {{{"name", "c1/bias"}, {"shape", {12}}, {"dtype", "float32"}},
             {{"name", "c1/kernel"}, {"shape", {3, 3, 3, 12}}, {"dtype", "float32"}}}}}}}};
    std::ofstream(dir / "model.json") << model.dump();
    std::ofstream shard(dir / "group1-shard1of1.bin", std::ios::binary);
    shard.write(static_cast<const char*>(bias.data_ptr()), bias.numel() * 4);
    shard.write(static_cast<const char*>(kernel_hwio.data_ptr()), kernel_hwio.numel() * 4);
  }
};

TEST(KerasGraph, MatchesADirectComputationInTfChannelOrder) {
  TinyModel tiny;
  const auto topology = read_tfjs_topology(tiny.dir / "model.json");
  KerasGraph net(topology);
  net->load_weights(read_tfjs_weights(topology));
  const auto x = torch::rand({1, 3, 5, 7});
  torch::NoGradGuard no_grad;
  const auto y = net->forward(x);
  ASSERT_EQ(y.sizes(), torch::IntArrayRef({1, 3, 10, 14}));

  const auto features =
      torch::relu(torch::conv2d(x, tiny.kernel_hwio.permute({3, 2, 0, 1}), tiny.bias, 1, 1));
  // TF depth_to_space: out[c, 2h+i, 2w+j] = in[(i*2 + j)*C + c, h, w].
  auto expected = torch::empty({1, 3, 10, 14});
  for (int c = 0; c < 3; ++c)
    for (int h = 0; h < 5; ++h)
      for (int w = 0; w < 7; ++w)
        for (int i = 0; i < 2; ++i)
          for (int j = 0; j < 2; ++j)
            expected[0][c][2 * h + i][2 * w + j] = features[0][(i * 2 + j) * 3 + c][h][w];
  EXPECT_LT((y - expected).abs().max().item<double>(), 1e-5);
}

TEST(KerasGraph, StatsComeFromTheGraph) {
  TinyModel tiny;
  KerasGraph net(read_tfjs_topology(tiny.dir / "model.json"));
  const auto& stats = net->stats();
  EXPECT_EQ(stats.parameters, 3 * 3 * 3 * 12 + 12);
  EXPECT_DOUBLE_EQ(stats.flops_per_input_pixel, 2.0 * 3 * 12 * 9);
  EXPECT_DOUBLE_EQ(stats.receptive_radius, 1.0);
  EXPECT_EQ(stats.scale, 2);
  EXPECT_EQ(stats.in_channels, 3);
  EXPECT_EQ(stats.out_channels, 3);
}

TEST(KerasGraph, UnknownLayerClassIsASetupErrorNamingTheLayer) {
  TinyModel tiny("Dense");
  try {
    KerasGraph net(read_tfjs_topology(tiny.dir / "model.json"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kSetup);
    EXPECT_NE(std::string(e.what()).find("'odd' (Dense)"), std::string::npos) << e.what();
  }
}

// Input(3) -> Conv2D 3x3 -> 8 -> UpSampling2D(s) -> Conv2D 3x3 -> 3 (relu): the RDN tail.
std::filesystem::path write_upsampling_model(const std::filesystem::path& dir, int scale) {
  std::filesystem::create_directories(dir);
  nlohmann::json layers = nlohmann::json::array();
  layers.push_back({{"class_name", "InputLayer"},
                    {"name", "in"},
                    {"config", {{"batch_input_shape", {nullptr, nullptr, nullptr, 3}}}},
                    {"inbound_nodes", nlohmann::json::array()}});
  layers.push_back(conv_layer("a", "in", 8, 3));
  layers.push_back({{"class_name", "UpSampling2D"},
                    {"name", "up"},
                    {"config", {{"size", {scale, scale}}, {"interpolation", "nearest"}}},
                    {"inbound_nodes", {{{"a", 0, 0, nlohmann::json::object()}}}}});
  layers.push_back(conv_layer("b", "up", 3, 3, "relu"));
  nlohmann::json weights = {{{"name", "a/bias"}, {"shape", {8}}, {"dtype", "float32"}},
                            {{"name", "a/kernel"}, {"shape", {3, 3, 3, 8}}, {"dtype", "float32"}},
                            {{"name", "b/bias"}, {"shape", {3}}, {"dtype", "float32"}},
                            {{"name", "b/kernel"}, {"shape", {3, 3, 8, 3}}, {"dtype", "float32"}}};
  nlohmann::json model = {{"format", "layers-model"},
                          {"modelTopology",
                           {{"model_config",
                             {{"config",
                               {{"layers", layers},
                                {"input_layers", {{"in", 0, 0}}},
                                {"output_layers", {{"b", 0, 0}}}}}}}}},
                          {"weightsManifest", {{{"paths", {"w.bin"}}, {"weights", weights}}}}};
  std::ofstream(dir / "model.json") << model.dump();
  const auto values = torch::randn({8 + 3 * 3 * 3 * 8 + 3 + 3 * 3 * 8 * 3});
  std::ofstream(dir / "w.bin", std::ios::binary)
      .write(static_cast<const char*>(values.data_ptr()), values.numel() * 4);
  return dir / "model.json";
}

TEST(KerasGraph, FusedUpsamplingConvEqualsTheLiteralGraph) {
  torch::manual_seed(11);
  const testing::TempDir temp;
  const auto dir = temp / "upsampling";
  for (const int scale : {2, 3, 4, 8}) {
    const auto topology = read_tfjs_topology(write_upsampling_model(dir, scale));
    const auto weights = read_tfjs_weights(topology);
    KerasGraph fused(topology, true), literal(topology, false);
    fused->load_weights(weights);
    literal->load_weights(weights);
    torch::NoGradGuard no_grad;
    const auto x = torch::rand({1, 3, 9, 6});
    for (const bool channels_last : {false, true}) {
      fused->set_channels_last(channels_last);
      literal->set_channels_last(channels_last);
      const auto a = fused->forward(x), b = literal->forward(x);
      ASSERT_EQ(a.sizes(), b.sizes());
      EXPECT_LT((a - b).abs().max().item<double>(), 1e-4) << "x" << scale;
    }
  }
}

// A manifest is a stranger's word: a shard outside the model's folder, or a weight whose shape
// overflows the byte count (it once matched the shard's size modulo 2^64 and was read far past
// it), is refused.
TEST(TfjsReader, HostileManifestsAreRefused) {
  TinyModel tiny;
  const auto json = tiny.dir / "model.json";
  const auto original = nlohmann::json::parse(std::ifstream(json));
  const auto refused = [&](const std::function<void(nlohmann::json&)>& change,
                           const std::string& part) {
    auto model = original;
    change(model);
    std::ofstream(json) << model.dump();
    try {
      read_tfjs_weights(read_tfjs_topology(json));
      ADD_FAILURE() << "no error; expected one mentioning " << part;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  for (const char* path : {"/etc/passwd", "../group1-shard1of1.bin", ""}) {
    refused([&](auto& m) { m["weightsManifest"][0]["paths"][0] = path; }, "outside its folder");
  }
  // 2^62 x 4 elements of 4 bytes: 2^66 bytes, 0 modulo 2^64.
  refused(
      [](auto& m) {
        m["weightsManifest"][0]["weights"][0]["shape"] = {int64_t{1} << 62, 4};
      },
      "impossible shape");
  refused(
      [](auto& m) {
        m["weightsManifest"][0]["weights"][0]["shape"] = {-1, 8};
      },
      "impossible shape");
}

TEST(TfjsReader, ShortShardIsASetupError) {
  TinyModel tiny;
  std::filesystem::resize_file(tiny.dir / "group1-shard1of1.bin", 100);
  const auto topology = read_tfjs_topology(tiny.dir / "model.json");
  EXPECT_THROW(read_tfjs_weights(topology), Error);
}

// tensorflowjs_converter's quantisation: value = min + scale * q, q stored as uint8 or uint16
// (little-endian), or the value as float16. One weight of each, read back against that formula.
TEST(TfjsReader, QuantisedWeightsAreDequantised) {
  testing::TempDir dir;
  const std::vector<uint8_t> q8{0, 1, 128, 255};
  const std::vector<uint16_t> q16{0, 1, 300, 65535};
  const auto half = torch::tensor({0.5, -1.25, 3.0, 1e-3}).to(torch::kFloat16);
  nlohmann::json manifest = {
      {{"name", "a/kernel"},
       {"shape", {4}},
       {"dtype", "float32"},
       {"quantization", {{"dtype", "uint8"}, {"min", -0.5}, {"scale", 0.01}}}},
      {{"name", "b/kernel"},
       {"shape", {2, 2}},
       {"dtype", "float32"},
       {"quantization", {{"dtype", "uint16"}, {"min", 1.0}, {"scale", 0.001}}}},
      {{"name", "c/kernel"},
       {"shape", {4}},
       {"dtype", "float32"},
       {"quantization", {{"dtype", "float16"}}}}};
  nlohmann::json model = {{"format", "layers-model"},
                          {"modelTopology",
                           {{"model_config",
                             {{"class_name", "Functional"},
                              {"config",
                               {{"layers",
                                 {{{"class_name", "InputLayer"},
                                   {"name", "in"},
                                   {"config", {}},
                                   {"inbound_nodes", nlohmann::json::array()}}}},
                                {"input_layers", {{"in", 0, 0}}},
                                {"output_layers", {{"in", 0, 0}}}}}}}}},
                          {"weightsManifest", {{{"paths", {"shard.bin"}}, {"weights", manifest}}}}};
  std::ofstream(dir / "model.json") << model.dump();
  {
    std::ofstream shard(dir / "shard.bin", std::ios::binary);
    shard.write(reinterpret_cast<const char*>(q8.data()), 4);
    for (const uint16_t v : q16) {
      const char bytes[2] = {static_cast<char>(v & 0xFF), static_cast<char>(v >> 8)};
      shard.write(bytes, 2);
    }
    shard.write(static_cast<const char*>(half.data_ptr()), 8);
  }
  const auto weights = read_tfjs_weights(read_tfjs_topology(dir / "model.json"));
  EXPECT_TRUE(torch::allclose(weights.at("a/kernel"), torch::tensor({-0.5f, -0.49f, 0.78f, 2.05f}),
                              1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(weights.at("b/kernel"),
                              torch::tensor({1.0f, 1.001f, 1.3f, 66.535f}).view({2, 2}), 1e-6,
                              1e-5));
  EXPECT_TRUE(torch::equal(weights.at("c/kernel"), half.to(torch::kFloat32)));
}

TEST(TfjsReader, UnknownQuantisationIsASetupErrorNamingTheWeight) {
  TinyModel tiny;
  auto model = nlohmann::json::parse(std::ifstream(tiny.dir / "model.json"));
  model["weightsManifest"][0]["weights"][0]["quantization"] = {{"dtype", "int4"}};
  std::ofstream(tiny.dir / "model.json") << model.dump();
  try {
    read_tfjs_topology(tiny.dir / "model.json");
    FAIL() << "int4 is not a storage srkit reads";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("c1/bias"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("int4"), std::string::npos) << e.what();
  }
}

TEST(TfjsReader, MissingFileSaysHowToFixIt) {
  try {
    read_tfjs_topology("/nonexistent/model.json");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("scripts/setup.sh"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace srkit
