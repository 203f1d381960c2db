// MAG-Net's parts against slow, obvious versions of their definitions (methods.md section 4),
// and the whole network's contract: every task's shapes, gradients, configs.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/engine/guided_upscale.h"
#include "srkit/models/guided_model.h"
#include "srkit/nn/expert_routing.h"
#include "srkit/nn/magnet.h"
#include "srkit/nn/restormer.h"
#include "srkit/nn/task_prompt.h"
#include "srkit/ops/resize.h"

namespace srkit {
namespace {

TEST(Restormer, ChannelLayerNormIsLayerNormOverEachPixelsChannels) {
  ChannelLayerNorm norm(6);
  const auto x = torch::randn({2, 6, 5, 7});
  const auto expected =
      torch::layer_norm(x.permute({0, 2, 3, 1}), {6}, {}, {}, 1e-5).permute({0, 3, 1, 2});
  EXPECT_LT((norm(x) - expected).abs().max().item<double>(), 1e-5);
}

TEST(Restormer, MdtaIsSoftmaxOfCosineSimilaritiesBetweenChannels) {
  // The slow twin: for each head, the normalised query and key channels' dot products times the
  // temperature, softmax over key channels, weighted sum of value channels, channel by channel.
  torch::manual_seed(3);
  Mdta attention(4, 2);
  auto temperature = attention->named_parameters()["temperature"];
  {
    torch::NoGradGuard no_grad;
    temperature.copy_(torch::tensor({0.5, 2.0}).view({2, 1, 1}));
  }
  const auto x = torch::randn({1, 4, 3, 5});
  const auto qkv = attention->named_children()["qkv_depthwise"]->as<torch::nn::Conv2d>()->forward(
      attention->named_children()["qkv"]->as<torch::nn::Conv2d>()->forward(x));
  const auto q = qkv.slice(1, 0, 4).reshape({4, 15}), k = qkv.slice(1, 4, 8).reshape({4, 15}),
             v = qkv.slice(1, 8, 12).reshape({4, 15});
  auto mixed = torch::zeros({4, 15});
  for (int64_t head = 0; head < 2; ++head) {
    for (int64_t i = 0; i < 2; ++i) {
      const int64_t ci = 2 * head + i;
      std::vector<double> logits;
      for (int64_t j = 0; j < 2; ++j) {
        const int64_t cj = 2 * head + j;
        logits.push_back((q[ci] / q[ci].norm()).dot(k[cj] / k[cj].norm()).item<double>() *
                         temperature[head].item<double>());
      }
      const double top = std::max(logits[0], logits[1]);
      const double e0 = std::exp(logits[0] - top), e1 = std::exp(logits[1] - top);
      mixed[ci] = (e0 * v[2 * head] + e1 * v[2 * head + 1]) / (e0 + e1);
    }
  }
  const auto expected = attention->named_children()["project_out"]->as<torch::nn::Conv2d>()->forward(
      mixed.view({1, 4, 3, 5}));
  EXPECT_LT((attention(x) - expected).abs().max().item<double>(), 1e-5);
}

TEST(ExpertRouting, ProbabilityInTopKIsTheChanceOfBeatingTheOthersKthValue) {
  torch::manual_seed(1);
  const int64_t tokens = 50, m = 4, k = 2;
  const auto clean = torch::randn({tokens, m}, torch::kDouble);
  const auto noise_std = torch::rand({tokens, m}, torch::kDouble) + 0.1;
  const auto noisy = clean + torch::randn({tokens, m}, torch::kDouble) * noise_std;
  const auto p = probability_in_top_k(clean, noisy, noise_std, k);
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t i = 0; i < m; ++i) {
      std::vector<double> others;
      for (int64_t j = 0; j < m; ++j) {
        if (j != i) others.push_back(noisy[t][j].item<double>());
      }
      std::sort(others.rbegin(), others.rend());
      const double threshold = others[k - 1];  // expert i is in the top k iff it beats this
      const double z = (clean[t][i].item<double>() - threshold) / noise_std[t][i].item<double>();
      EXPECT_NEAR(p[t][i].item<double>(), 0.5 * std::erfc(-z / std::sqrt(2.0)), 1e-12);
    }
  }
}

TEST(ExpertRouting, SparseDispatchEqualsTheDenseGatedSumAndTheLossIsItsDefinition) {
  torch::manual_seed(2);
  for (bool log_space : {false, true}) {
    ExpertRouter router(RouterOptions{.channels = 8, .prompt_dim = 6, .experts = 4, .top_k = 2,
                                      .expansion = 2.0, .log_space_combine = log_space});
    router->eval();
    const auto features = torch::randn({2, 8, 5, 3}), guide = torch::randn({2, 8, 5, 3});
    const auto prompt = torch::randn({2, 6});
    const auto routed = router->forward(features, guide, prompt);
    const auto& gates = routed.gates;
    ASSERT_EQ(gates.sizes(), torch::IntArrayRef({30, 4}));
    EXPECT_TRUE(torch::equal((gates > 0).sum(1), torch::full({30}, 2, torch::kLong)));
    EXPECT_LT((gates.sum(1) - 1).abs().max().item<double>(), 1e-6);
    // Dense twin: every expert on every pixel, weighted by the gates.
    const auto pixels = features.permute({0, 2, 3, 1}).reshape({30, 8});
    auto dense = torch::zeros({30, 8});
    auto experts = router->named_children()["experts"]->as<torch::nn::ModuleList>();
    for (int64_t i = 0; i < 4; ++i) {
      auto out = (*experts)[i]->as<torch::nn::Sequential>()->forward(pixels);
      dense += gates.select(1, i).unsqueeze(1) * (log_space ? torch::exp(out) : out);
    }
    if (log_space) dense = torch::log(dense);
    const auto expected = features + dense.view({2, 5, 3, 8}).permute({0, 3, 1, 2});
    EXPECT_LT((routed.output - expected).abs().max().item<double>(), 1e-5) << log_space;
    // Eval mode: CV^2 of the importance (gate sums) plus CV^2 of the hard load (pixel counts).
    const auto cv2 = [](const torch::Tensor& v) { return v.var() / (v.mean().pow(2) + 1e-10); };
    const auto expected_loss = cv2(gates.sum(0)) + cv2((gates > 0).to(torch::kFloat).sum(0));
    EXPECT_NEAR(routed.balance_loss.item<double>(), expected_loss.item<double>(), 1e-5);
  }
  EXPECT_NEAR(squared_coefficient_of_variation(torch::full({4}, 3.0)).item<double>(), 0, 1e-12);
}

TEST(ExpertRouting, TrainingGatesAreNoisyAndTheLoadEstimateIsDifferentiable) {
  torch::manual_seed(4);
  ExpertRouter router(RouterOptions{.channels = 8, .prompt_dim = 0});
  router->train();
  const auto features = torch::randn({1, 8, 6, 6}), guide = torch::randn({1, 8, 6, 6});
  const auto a = router->forward(features, guide, {}), b = router->forward(features, guide, {});
  EXPECT_FALSE(torch::equal(a.gates, b.gates));  // redrawn noise
  a.balance_loss.backward();
  const auto params = router->named_parameters();
  EXPECT_GT(params["w_gate"].grad().abs().sum().item<double>(), 0);
  EXPECT_GT(params["w_noise"].grad().abs().sum().item<double>(), 0);  // through the load's CDF
}

TEST(TaskPrompt, HashedTextFeaturesAreDeterministicUnitVectorsThatTellTasksApart) {
  const auto depth = hashed_text_features(guided_task_info(GuidedTask::kDepth).description, 512);
  const auto pan = hashed_text_features(guided_task_info(GuidedTask::kPan).description, 512);
  EXPECT_TRUE(torch::equal(depth, hashed_text_features(
                                      guided_task_info(GuidedTask::kDepth).description, 512)));
  EXPECT_NEAR(depth.norm().item<double>(), 1, 1e-6);
  EXPECT_LT(depth.dot(pan).item<double>(), 0.5);
  // Letter case does not matter; a related phrase is closer than an unrelated one.
  EXPECT_TRUE(torch::equal(hashed_text_features("Depth map x8", 64),
                           hashed_text_features("depth MAP X8", 64)));
  const auto x8 = hashed_text_features("Depth map super-resolution x8", 512);
  EXPECT_GT(x8.dot(depth).item<double>(), x8.dot(pan).item<double>());
}

TEST(MagNet, EveryTaskUpscalesToTheGuidesGridAndTrainsEndToEnd) {
  torch::manual_seed(5);
  MagNet net(MagNetConfig{});
  net->train();
  const struct {
    GuidedTask task;
    int64_t c1, c2, h, w, scale;
  } cases[] = {{GuidedTask::kDepth, 1, 3, 10, 13, 4},
               {GuidedTask::kPan, 4, 1, 12, 12, 4},
               {GuidedTask::kMri, 1, 1, 27, 23, 2}};
  for (const auto& c : cases) {
    const auto lr = torch::rand({2, c.c1, c.h, c.w});
    const auto guide = torch::rand({2, c.c2, c.h * c.scale, c.w * c.scale});
    const auto out = net->forward(c.task, lr, guide);
    EXPECT_EQ(out.image.sizes(), torch::IntArrayRef({2, c.c1, c.h * c.scale, c.w * c.scale}));
    EXPECT_EQ(out.gates.size(), 3u);
    (out.image.mean() + 0.01 * out.balance_loss).backward();
  }
  const auto params = net->named_parameters();
  for (const char* name : {"router1.w_gate", "prompt.dictionary", "task_embedding.weight",
                           "heads.0.weight", "heads.1.weight", "heads.2.weight",
                           "refinement.0.attention.temperature"}) {
    ASSERT_TRUE(params.contains(name)) << name;
    EXPECT_GT(params[name].grad().abs().sum().item<double>(), 0) << name;
  }
  EXPECT_THROW(net->forward(GuidedTask::kPan, torch::rand({1, 1, 8, 8}), torch::rand({1, 1, 32, 32})),
               Error);
}

TEST(MagNet, AblationsConfigsAndTextEmbeddings) {
  MagNetConfig plain;
  plain.routing = false;
  plain.prompts = false;
  MagNet net(plain);
  net->eval();
  const auto out = net->forward(GuidedTask::kMri, torch::rand({1, 1, 8, 8}), torch::rand({1, 1, 16, 16}));
  EXPECT_EQ(out.balance_loss.item<double>(), 0.0);  // one expert: nothing to balance
  EXPECT_FALSE(net->named_parameters().contains("prompt.dictionary"));
  const auto round_trip = MagNetConfig::from_json(MagNetConfig::paper().to_json());
  EXPECT_EQ(round_trip.to_json(), MagNetConfig::paper().to_json());
  EXPECT_GT(MagNet(MagNetConfig::paper())->parameter_count(), 10 * MagNet(MagNetConfig{})->parameter_count());
  auto bad = MagNetConfig{}.to_json();
  bad["dimension"] = 8;
  EXPECT_THROW(MagNetConfig::from_json(bad), Error);
  // User text embeddings replace the hashed ones and are kept as a buffer.
  const auto text = torch::randn({3, 512});
  MagNet with_text(MagNetConfig{}, text);
  EXPECT_TRUE(torch::allclose(with_text->text_feature(GuidedTask::kPan),
                              text[1] + with_text->named_parameters()["task_embedding.weight"][1]));
  EXPECT_THROW(MagNet(MagNetConfig{}, torch::randn({2, 512})), Error);
}

TEST(MagNet, BicubicUpsamplingMakesTheResidualBaseTheClassicalBicubic) {
  // With the task's head zeroed the network adds nothing: the output is its residual base, which
  // for upsampling: bicubic must be exactly the bicubic baseline (resize_bicubic) on every task.
  MagNetConfig config;
  config.upsampling = "bicubic";
  MagNet net(config);
  net->eval();
  {
    torch::NoGradGuard no_grad;
    for (auto& p : net->named_parameters()) {
      if (p.key().rfind("heads.", 0) == 0) p.value().zero_();
    }
  }
  const auto lr = torch::rand({2, 4, 9, 7});
  const auto pan = torch::rand({2, 1, 36, 28});
  const auto out = net->forward(GuidedTask::kPan, lr, pan).image;
  EXPECT_LT((out - resize_bicubic(lr, 36, 28)).abs().max().item<double>(), 1e-6);
  EXPECT_EQ(MagNetConfig::from_json(config.to_json()).upsampling, "bicubic");
  auto bad = config.to_json();
  bad["upsampling"] = "nearest";
  EXPECT_THROW(MagNetConfig::from_json(bad), Error);
}

TEST(GuidedTiling, TilesBlendToTheWholeImageWhereTheNetworkIsLocal) {
  // MDTA attends over the whole input, so a tiled MAG-Net is not the whole-image one in general
  // (bench/guided_tiling.sh measures by how much). With the heads zeroed the output is the bicubic
  // base, which is local (4 taps): tiles with context must then reproduce the whole image exactly,
  // which checks the windows, the blending and the whole-image scaling of both inputs.
  torch::manual_seed(3);
  MagNetConfig config;
  config.upsampling = "bicubic";
  MagNet net(config);
  const auto lr = torch::rand({4, 37, 29}) * 900 + 100;  // MS in digital numbers
  const auto pan = torch::rand({1, 37 * 4, 29 * 4}) * 2000;
  GuidedTiling tiles;
  tiles.tile = 8;
  tiles.pad = 4;
  tiles.overlap = 2;
  const auto whole_with_heads = guided_model_upscale(*net, GuidedTask::kPan, lr, pan);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : net->named_parameters()) {
      if (p.key().rfind("heads.", 0) == 0) p.value().zero_();
    }
  }
  const auto whole = guided_model_upscale(*net, GuidedTask::kPan, lr, pan);
  const auto tiled = guided_model_upscale(*net, GuidedTask::kPan, lr, pan, nullptr, tiles);
  ASSERT_EQ(tiled.sizes(), whole.sizes());
  EXPECT_LT((tiled - whole).abs().max().item<double>(), 1e-3);  // of values up to 1000
  EXPECT_GT((whole_with_heads - whole).abs().max().item<double>(), 1e-2);  // the heads do act
  // A small memory budget tiles by itself; a tile as large as the image is the whole run.
  GuidedTiling budget;
  budget.max_memory = 4 << 20;
  budget.pad = 4;
  budget.overlap = 2;
  int64_t budget_tiles = 0;
  const ProgressFn count_tiles = [&](int64_t, int64_t total) {
    budget_tiles = total;
    return true;
  };
  const auto auto_tiled =
      guided_model_upscale(*net, GuidedTask::kPan, lr, pan, nullptr, budget, count_tiles);
  EXPECT_GT(budget_tiles, 1) << "4 MiB should not hold a whole 148x116 MAG-Net pass";
  EXPECT_LT((auto_tiled - whole).abs().max().item<double>(), 1e-3);
  GuidedTiling one;
  one.tile = 40;
  EXPECT_TRUE(torch::equal(guided_model_upscale(*net, GuidedTask::kPan, lr, pan, nullptr, one),
                           whole));
}

}  // namespace
}  // namespace srkit

namespace srkit {
namespace {

// The bound from_json checks before anything is built holds the built network, loosely.
TEST(MagNetConfigBound, BoundsTheBuiltNetworkAndRefusesHostileSizes) {
  MagNetConfig no_routing;
  no_routing.routing = false;
  no_routing.prompts = false;
  MagNetConfig wide;
  wide.dim = 24;
  wide.experts = 8;
  wide.expansion = 4;
  for (const auto& config : {MagNetConfig{}, MagNetConfig::paper(), no_routing, wide}) {
    const double built = static_cast<double>(MagNet(config)->parameter_count());
    EXPECT_GE(config.parameter_bound(), built) << config.to_json().dump();
    EXPECT_LE(config.parameter_bound(), 4 * built) << config.to_json().dump();
  }
  auto hostile = MagNetConfig::paper().to_json();
  hostile["dim"] = 4096;
  hostile["experts"] = 64;
  try {
    MagNetConfig::from_json(hostile);
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("million parameters, more than srkit builds"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace srkit
