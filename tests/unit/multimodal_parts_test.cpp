// Seed 000's parts against what they must be: the modality softmax masks what is missing and
// follows its temperature, a new network's experts change nothing, a missing map cannot reach the
// output, static fusion weighs the present maps equally, an output pixel sees only its receptive
// radius, the temperature schedule and the alignment term equal their formulas, and a model file
// gives back the network it was written from.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <unistd.h>
#include <filesystem>

#include "srkit/core/error.h"
#include "srkit/models/multimodal_model.h"
#include "srkit/models/registry.h"
#include "srkit/nn/m3esr.h"
#include "srkit/train/modality_fusion.h"

namespace srkit {
namespace {

M3esrConfig small_config(const std::string& fusion) {
  nlohmann::json json = {{"scale", 2},       {"features", 8},        {"convs_before", 1},
                         {"convs_after", 1}, {"expert_features", 4}, {"fusion", fusion}};
  if (fusion != "none") json["modalities"] = {"edges", "depth"};
  return m3esr_config(json);
}

void randomise(torch::nn::Module& module, double spread, uint64_t seed) {
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters()) p.normal_(0, spread);
}

struct Inputs {
  torch::Tensor lr = torch::rand({2, 3, 9, 11});
  std::vector<torch::Tensor> maps{torch::rand({2, 2, 18, 22}), torch::rand({2, 1, 18, 22})};
  torch::Tensor all = torch::ones({2, 2});
  torch::Tensor tau = torch::tensor({1.0f, 1.0f});
};

TEST(ModalityWeights, SumToOneOverThePresentModalitiesAndZeroForTheMissing) {
  torch::manual_seed(1);
  const auto logits = torch::randn({3, 3, 4, 5});
  const auto present = torch::tensor({{1.f, 1.f, 1.f}, {1.f, 0.f, 1.f}, {0.f, 0.f, 0.f}});
  const auto w = modality_weights(logits, present, torch::tensor({1.f, 1.f, 1.f}));
  EXPECT_TRUE(torch::allclose(w[0].sum(0), torch::ones({4, 5})));
  EXPECT_TRUE(torch::allclose(w[1].sum(0), torch::ones({4, 5})));
  EXPECT_EQ(w[1][1].abs().max().item<float>(), 0.f);
  EXPECT_EQ(w[2].abs().max().item<float>(), 0.f);  // nothing present: no NaN, no weight
  // Sample 1 is the softmax of its two present logits.
  const auto two = torch::softmax(torch::stack({logits[1][0], logits[1][2]}), 0);
  EXPECT_TRUE(torch::allclose(w[1][0], two[0], 1e-5, 1e-6));
}

TEST(ModalityWeights, AHigherTemperatureFlattensTheWeights) {
  torch::manual_seed(2);
  const auto logits = torch::randn({1, 2, 3, 3});
  const auto present = torch::ones({1, 2});
  const auto sharp = modality_weights(logits, present, torch::tensor({0.5f, 0.5f}));
  const auto soft = modality_weights(logits, present, torch::tensor({2.0f, 2.0f}));
  EXPECT_TRUE(torch::allclose(sharp, torch::softmax(logits / 0.5, 1), 1e-5, 1e-6));
  // Farther from 1/2 at tau 0.5 than at tau 2, at every pixel.
  EXPECT_TRUE(((sharp - 0.5).abs() >= (soft - 0.5).abs()).all().item<bool>());
  // Per-modality temperatures divide each logit by its own.
  const auto mixed = modality_weights(logits, present, torch::tensor({0.5f, 2.0f}));
  const auto by_hand =
      torch::softmax(torch::stack({logits[0][0] / 0.5, logits[0][1] / 2.0}).unsqueeze(0), 1);
  EXPECT_TRUE(torch::allclose(mixed, by_hand, 1e-5, 1e-6));
}

TEST(M3esr, ANewNetworksExpertsChangeNothingSoMapsDoNotMatterYet) {
  for (const char* fusion : {"dynamic", "static", "scalar", "concat"}) {
    torch::manual_seed(3);
    M3esr net(small_config(fusion));
    Inputs in;
    const auto with = net->forward(in.lr, in.maps, in.all, in.tau).image;
    const auto without = net->forward(in.lr, {{}, {}}, torch::zeros({2, 2}), in.tau).image;
    EXPECT_TRUE(torch::allclose(with, without)) << fusion;
    EXPECT_EQ(with.sizes(), (std::vector<int64_t>{2, 3, 18, 22})) << fusion;
  }
}

TEST(M3esr, AMissingMapCannotReachTheOutput) {
  for (const char* fusion : {"dynamic", "static", "scalar", "concat"}) {
    M3esr net(small_config(fusion));
    randomise(*net, 0.2, 4);
    Inputs in;
    const auto present = torch::tensor({{1.f, 0.f}, {0.f, 1.f}});
    const auto a = net->forward(in.lr, in.maps, present, in.tau).image;
    auto other = in.maps;
    other[1][0] = torch::rand({1, 18, 22});  // sample 0's depth is missing
    other[0][1] = torch::rand({2, 18, 22});  // sample 1's edges are missing
    const auto b = net->forward(in.lr, other, present, in.tau).image;
    EXPECT_TRUE(torch::allclose(a, b)) << fusion;
    // A present map does reach it.
    other[0][0] = torch::rand({2, 18, 22});
    const auto c = net->forward(in.lr, other, present, in.tau).image;
    EXPECT_FALSE(torch::allclose(a[0], c[0])) << fusion;
  }
}

TEST(M3esr, StaticFusionWeighsThePresentMapsEquallyAndTheGateSumsToOne) {
  Inputs in;
  M3esr fixed(small_config("static"));
  const auto present = torch::tensor({{1.f, 1.f}, {1.f, 0.f}});
  const auto w = fixed->forward(in.lr, in.maps, present, in.tau).weights;
  EXPECT_TRUE(torch::allclose(w[0], torch::full({2, 9, 11}, 0.5)));
  EXPECT_TRUE(torch::allclose(w[1][0], torch::ones({9, 11})));
  EXPECT_EQ(w[1][1].abs().max().item<float>(), 0.f);

  M3esr dynamic(small_config("dynamic"));
  randomise(*dynamic, 0.2, 5);
  const auto out = dynamic->forward(in.lr, in.maps, in.all, in.tau);
  EXPECT_TRUE(torch::allclose(out.weights.sum(1), torch::ones({2, 9, 11}), 1e-5, 1e-6));
  EXPECT_GT(out.weights.std().item<float>(), 0.f);  // the weights vary over pixels
  EXPECT_FALSE(
      M3esr(small_config("concat"))->forward(in.lr, in.maps, in.all, in.tau).weights.defined());
}

TEST(M3esr, AnOutputPixelSeesOnlyItsReceptiveRadius) {
  M3esr net(small_config("dynamic"));
  randomise(*net, 0.2, 6);
  const int64_t radius = static_cast<int64_t>(net->receptive_radius());
  Inputs in;
  in.lr = torch::rand({1, 3, 24, 24});
  in.maps = {torch::rand({1, 2, 48, 48}), torch::rand({1, 1, 48, 48})};
  in.all = torch::ones({1, 2});
  const auto base = net->forward(in.lr, in.maps, in.all, in.tau).image;
  auto lr = in.lr.clone();
  lr[0][0][12][12] += 1;
  const auto moved =
      (net->forward(lr, in.maps, in.all, in.tau).image - base).abs().sum(at::IntArrayRef{0, 1});
  const auto changed = torch::nonzero(moved > 0);
  ASSERT_GT(changed.size(0), 0);
  EXPECT_LE((torch::div(changed, 2, "floor") - 12).abs().max().item<int64_t>(), radius);
  // A map pixel reaches at most as far (it belongs to input pixel (12, 12)).
  auto maps = in.maps;
  maps[1] = maps[1].clone();
  maps[1][0][0][25][24] += 1;
  const auto by_map =
      (net->forward(in.lr, maps, in.all, in.tau).image - base).abs().sum(at::IntArrayRef{0, 1});
  const auto reached = torch::nonzero(by_map > 0);
  ASSERT_GT(reached.size(0), 0);
  EXPECT_LE((torch::div(reached, 2, "floor") - 12).abs().max().item<int64_t>(), radius);
}

TEST(M3esr, ConfigsThatCannotBuildAreUsageErrorsNamingTheKey) {
  const auto refused = [](const nlohmann::json& json, const std::string& says) {
    try {
      m3esr_config(json);
      ADD_FAILURE() << json.dump();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUsage);
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  };
  refused({{"modalities", {"edges", "sound"}}}, "sound");
  refused({{"modalities", {"edges", "edges"}}}, "twice");
  refused({{"fusion", "average"}, {"modalities", {"edges"}}}, "model.fusion");
  refused({{"fusion", "none"}, {"modalities", {"edges"}}}, "leave out model.modalities");
  refused({{"fusion", "dynamic"}}, "at least one");
  refused({{"modalities", {"edges"}}, {"width", 3}}, "model.width");
  refused({{"modalities", {"edges"}}, {"features", 0}}, "model.features");
  EXPECT_EQ(m3esr_config({{"modalities", {"text"}}, {"text_dim", 32}}).channels,
            (std::vector<int64_t>{32}));
}

TEST(ModalityFusion, TheTemperatureScheduleFollowsItsFormula) {
  TemperatureSchedule cosine;
  EXPECT_DOUBLE_EQ(scheduled_temperature(cosine, 0, 100), 2.0);
  EXPECT_NEAR(scheduled_temperature(cosine, 50, 100), 1.25, 1e-12);
  EXPECT_NEAR(scheduled_temperature(cosine, 100, 100), 0.5, 1e-12);
  EXPECT_NEAR(scheduled_temperature(cosine, 25, 100), 0.5 + 0.75 * (1 + std::cos(M_PI / 4)), 1e-12);
  TemperatureSchedule fixed;
  fixed.kind = "fixed";
  fixed.value = 0.7;
  EXPECT_DOUBLE_EQ(scheduled_temperature(fixed, 10, 100), 0.7);
  // Adaptive: tau(t) (mean c / c_m)^alpha, the factor clamped to [1/4, 4]; no measurement yet:
  // the shared temperature.
  TemperatureSchedule adaptive;
  adaptive.kind = "adaptive";
  EXPECT_EQ(modality_temperatures(adaptive, 100, 100, {0, 0}), (std::vector<double>{0.5, 0.5}));
  const auto t = modality_temperatures(adaptive, 100, 100, {0.03, 0.01});
  EXPECT_NEAR(t[0], 0.5 * std::sqrt(0.02 / 0.03), 1e-12);
  EXPECT_NEAR(t[1], 0.5 * std::sqrt(0.02 / 0.01), 1e-12);
  EXPECT_NEAR(modality_temperatures(adaptive, 100, 100, {1.0, 0.0})[1], 0.5 * 4, 1e-12);
  EXPECT_EQ(modality_temperatures(cosine, 100, 100, {0.03, 0.01}), (std::vector<double>{0.5, 0.5}));
}

TEST(ModalityFusion, TheAlignmentTermEqualsItsFormula) {
  EXPECT_EQ(alignment_target({0, 0}, 0.25), (std::vector<double>{0.5, 0.5}));
  const auto target = alignment_target({3e-4, 1e-4}, 0.25);
  // softmax of (0.75, 0.25) / 0.25 = softmax(3, 1).
  EXPECT_NEAR(target[0], std::exp(3.0) / (std::exp(3.0) + std::exp(1.0)), 1e-12);
  EXPECT_NEAR(target[0] + target[1], 1.0, 1e-12);
  const auto weights =
      torch::stack({torch::full({2, 4, 4}, 0.8), torch::full({2, 4, 4}, 0.2)}, 1).requires_grad_();
  const auto loss = alignment_loss(weights, {0.6, 0.4});
  EXPECT_NEAR(loss.item<double>(), 0.04 + 0.04, 1e-6);
  loss.backward();
  // d/dw of (mean w_0 - 0.6)^2 = 2 (0.2) / 32 per element.
  EXPECT_NEAR(weights.grad()[0][0][0][0].item<double>(), 2 * 0.2 / 32, 1e-7);
}

TEST(MultimodalModel, AFileGivesBackTheNetworkItsTemperaturesAndItsInputs) {
  M3esr net(small_config("dynamic"));
  randomise(*net, 0.1, 7);
  const auto path = std::filesystem::temp_directory_path() /
                    ("srkit-m3esr-" + std::to_string(getpid()) + ".srkit");
  save_multimodal_model(path, *net, {0.5, 0.8}, {{"name", "mm"}});
  auto model = load_model({path.string()});
  std::filesystem::remove(path);
  EXPECT_EQ(model->card().task, "multimodal");
  EXPECT_EQ(model->card().inputs, (std::vector<std::string>{"edges", "depth"}));
  EXPECT_EQ(model->card().scale, 2);
  auto& mm = dynamic_cast<MultimodalModel&>(*model);
  EXPECT_EQ(mm.temperatures(), (std::vector<double>{0.5, 0.8}));
  Inputs in;
  ModelInput input;
  input.image = in.lr;
  input.extras = {{"edges", in.maps[0]}};  // depth missing
  ModelDiagnostics diagnostics;
  const auto out = model->run(input, &diagnostics);
  net->eval();
  const auto expected =
      net->forward(in.lr, {in.maps[0], {}}, torch::tensor({{1.f, 0.f}, {1.f, 0.f}}),
                   torch::tensor({0.5f, 0.8f}));
  EXPECT_TRUE(torch::allclose(out, expected.image));
  EXPECT_TRUE(torch::allclose(diagnostics.at("weights"), expected.weights));
  // A map of the wrong size or a modality the model does not take is a usage error.
  input.extras = {{"edges", torch::rand({2, 2, 10, 10})}};
  EXPECT_THROW(model->run(input), Error);
  input.extras = {{"segmentation", torch::rand({2, 4, 18, 22})}};
  EXPECT_THROW(model->run(input), Error);
}

}  // namespace
}  // namespace srkit
