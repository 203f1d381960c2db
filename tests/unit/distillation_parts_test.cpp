// Seed 002's parts against what they must be: the structure adapter starts as no change and sums
// its branches by their weights, the U-Net adds encoder features where its skips read them, the
// one-step model equals its training-time formula and tiles exactly, and the VSD gradient against
// its definition and against a flow whose posterior is known in closed form (the conditioning
// study's "collapse" on small tensors).
#include <algorithm>
#include <cmath>
#include <cstdio>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <unistd.h>
#include <filesystem>

#include "srkit/core/error.h"
#include "srkit/engine/tiling.h"
#include "srkit/models/one_step_flow_model.h"
#include "srkit/models/registry.h"
#include "srkit/nn/structure_adapter.h"
#include "srkit/train/score_distillation.h"
#include "support/tiny_flow.h"

namespace srkit {
namespace {

void randomise(torch::nn::Module& module, double spread, uint64_t seed) {
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters()) p.normal_(0, spread);
}

StructureAdapterOptions icm_adapter(const FlowUNetImpl& network) {
  return {{3, 1}, {1.0, 0.5}, network.level_widths(), 8, 1};
}

TEST(StructureAdapter, ANewAdapterLeavesTheUNetAsItWas) {
  FlowUNet network(testing::tiny_flow_options());
  randomise(*network, 0.1, 1);
  ConditionedFlowUNet conditioned(network, icm_adapter(*network));
  torch::manual_seed(2);
  const auto x = torch::randn({2, 3, 16, 12}), c = torch::randn({2, 3, 16, 12});
  const auto s = torch::tensor({0.3f, 0.8f});
  const std::vector<torch::Tensor> structure{torch::rand({2, 3, 16, 12}),
                                             torch::rand({2, 1, 16, 12})};
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(conditioned->forward(x, c, s, structure), network->forward(x, c, s)));
  const auto features = conditioned->adapter->forward(structure);
  ASSERT_EQ(features.size(), 2u);
  EXPECT_EQ(features[0].sizes(), (std::vector<int64_t>{2, 8, 16, 12}));
  EXPECT_EQ(features[1].sizes(), (std::vector<int64_t>{2, 16, 8, 6}));
}

// The same adapter weights under other branch weights.
StructureAdapter reweighted(StructureAdapterImpl& adapter, std::vector<double> weights) {
  auto options = adapter.options();
  options.weights = std::move(weights);
  StructureAdapter copy(options);
  torch::NoGradGuard no_grad;
  const auto source = adapter.named_parameters();
  for (auto& p : copy->named_parameters()) p.value().copy_(source[p.key()]);
  return copy;
}

TEST(StructureAdapter, FeaturesAreTheWeightedSumOfTheBranchesAndReachTheVelocity) {
  FlowUNet network(testing::tiny_flow_options());
  randomise(*network, 0.1, 1);
  ConditionedFlowUNet conditioned(network, icm_adapter(*network));
  randomise(*conditioned->adapter, 0.2, 3);
  torch::manual_seed(4);
  const std::vector<torch::Tensor> structure{torch::rand({1, 3, 8, 8}), torch::rand({1, 1, 8, 8})};
  torch::NoGradGuard no_grad;
  const auto both = conditioned->adapter->forward(structure);  // weights 1 and 0.5
  const auto colours = reweighted(*conditioned->adapter, {1.0, 0.0})->forward(structure);
  const auto edges = reweighted(*conditioned->adapter, {0.0, 0.5})->forward(structure);
  for (size_t level = 0; level < both.size(); ++level) {
    EXPECT_TRUE(torch::allclose(both[level], colours[level] + edges[level], 1e-5, 1e-6));
    EXPECT_GT(edges[level].abs().max().item<double>(), 1e-3);
  }
  const auto x = torch::randn({1, 3, 8, 8}), c = torch::randn({1, 3, 8, 8});
  const auto s = torch::tensor({0.5f});
  const auto velocity = conditioned->forward(x, c, s, structure);
  EXPECT_TRUE(torch::allclose(velocity, network->forward(x, c, s, both), 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(velocity, network->forward(x, c, s), 1e-3, 1e-3));
  // Dropping a sample's conditioning gives the plain network's velocity for it.
  EXPECT_TRUE(torch::allclose(conditioned->forward(x, c, s, structure, torch::zeros({1})),
                              network->forward(x, c, s), 1e-6, 1e-7));
  // Maps that do not fit are refused, naming what is expected.
  EXPECT_THROW(conditioned->adapter->forward({structure[0]}), Error);
  EXPECT_THROW(conditioned->adapter->forward({torch::rand({1, 3, 7, 8}), structure[1]}), Error);
}

TEST(StructureAdapter, EncoderFeaturesChangeTheVelocityOnlyWhereTheyReach) {
  // A feature added at full resolution at one pixel changes the velocity near that pixel only:
  // the U-Net stays local, so the windowed sampler's guarantee holds for conditioned teachers.
  FlowUNet network(testing::tiny_flow_options());
  randomise(*network, 0.1, 1);
  torch::manual_seed(5);
  const auto x = torch::randn({1, 3, 64, 64}), c = torch::randn({1, 3, 64, 64});
  const auto s = torch::tensor({0.5f});
  auto level0 = torch::zeros({1, 8, 64, 64});
  const auto level1 = torch::zeros({1, 16, 32, 32});
  level0.index_put_({0, torch::indexing::Slice(), 0, 0}, 1.0);
  torch::NoGradGuard no_grad;
  const auto change =
      (network->forward(x, c, s, {level0, level1}) - network->forward(x, c, s)).abs().sum(1)[0];
  const int64_t radius = network->receptive_radius();
  ASSERT_LT(radius, 63);
  EXPECT_GT(change[0][0].item<double>(), 0);
  EXPECT_EQ(change.slice(0, radius + 1).abs().max().item<double>(), 0);
  EXPECT_EQ(change.slice(1, radius + 1).abs().max().item<double>(), 0);
  EXPECT_THROW(network->forward(x, c, s, {level0}), Error);  // one map per level
}

std::unique_ptr<OneStepFlowModel> one_step_model(uint64_t seed) {
  FlowUNet network(testing::tiny_flow_options());
  randomise(*network, 0.1, seed);
  FlowModelSettings settings;
  settings.scale = 2;
  settings.residual = true;
  return std::make_unique<OneStepFlowModel>(network, settings, 1.0,
                                            nlohmann::json{{"name", "one-step"}}, "");
}

TEST(OneStepFlowModel, IsOneEvaluationFromTheUpsampledInputAtLevelOne) {
  auto model = one_step_model(6);
  model->prepare(torch::kCPU, false);
  torch::manual_seed(7);
  const auto lr = torch::rand({2, 3, 10, 12});
  const auto hr = model->forward(lr);
  ASSERT_EQ(hr.sizes(), (std::vector<int64_t>{2, 3, 20, 24}));
  // By hand: a residual flow starts at 0 (the upsampled input itself) and moves by -v.
  torch::NoGradGuard no_grad;
  const auto condition = flow_condition(lr, {2, true, 4, {}});
  const auto v =
      model->network().forward(torch::zeros_like(condition), condition, torch::ones({2}));
  const auto expected = (condition - v / 4 + 1) * 0.5;
  EXPECT_TRUE(torch::allclose(hr, expected, 1e-5, 1e-6));
  EXPECT_TRUE(torch::equal(model->forward(lr), hr));  // deterministic
  EXPECT_EQ(model->card().task, "sr");
  EXPECT_FALSE(model->card().global_context);
  // Odd output sides are padded to the network's multiple and cropped back.
  EXPECT_EQ(model->forward(torch::rand({1, 3, 5, 7})).sizes(),
            (std::vector<int64_t>{1, 3, 10, 14}));
}

TEST(OneStepFlowModel, TilesEqualTheWholeImage) {
  auto model = one_step_model(8);
  model->prepare(torch::kCPU, true);
  torch::manual_seed(9);
  const auto lr = torch::rand({3, 61, 53});
  const auto whole = model->forward(lr.unsqueeze(0))[0];
  TileOptions options;
  options.tile = 24;
  const auto plan = plan_tiles(61, 53, model->card(), options, torch::kCPU);
  ASSERT_GT(plan.count(), 4);
  ASSERT_TRUE(plan.exact());
  EXPECT_TRUE(torch::allclose(run_tiled(*model, lr, plan), whole, 1e-5, 1e-5));
}

TEST(OneStepFlowModel, SavesAndOpensAsAnUpscaler) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("srkit_one_step_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto model = one_step_model(10);
  FlowModelSettings settings;
  settings.scale = 2;
  settings.residual = true;
  save_one_step_flow_model(dir / "g.srkit", model->network(), settings, 1.0, {{"name", "g"}});
  auto opened = open_model_file(dir / "g.srkit");
  EXPECT_EQ(opened->card().name, "g");
  EXPECT_EQ(opened->card().task, "sr");
  EXPECT_EQ(opened->card().scale, 2);
  const auto lr = torch::rand({1, 3, 8, 8});
  model->prepare(torch::kCPU, false);
  opened->prepare(torch::kCPU, false);
  EXPECT_TRUE(torch::equal(opened->forward(lr), model->forward(lr)));
  std::filesystem::remove_all(dir);
}

TEST(ScoreDistillation, TheGradientIsOsediffsAndTheLossPushesAlongIt) {
  torch::manual_seed(11);
  const auto x_hat = torch::randn({2, 3, 4, 4}, torch::requires_grad());
  const auto real = torch::randn({2, 3, 4, 4}), fake = torch::randn({2, 3, 4, 4});
  const auto grad = vsd_gradient(x_hat, real, fake);
  for (int64_t k = 0; k < 2; ++k) {
    const auto weight = (x_hat[k].detach() - real[k]).abs().mean();
    EXPECT_TRUE(torch::allclose(grad[k], (fake[k] - real[k]) / weight, 1e-5, 1e-6));
  }
  const auto loss = vsd_loss(x_hat, grad);
  EXPECT_NEAR(loss.item<double>(), grad.pow(2).mean().item<double>(), 1e-6);
  loss.backward();
  EXPECT_TRUE(torch::allclose(x_hat.grad(), 2 * grad / grad.numel(), 1e-5, 1e-8));
  // Guidance: 1 is the conditioned velocity; w extrapolates from the unconditioned one.
  const auto vc = torch::randn({2, 3}), vu = torch::randn({2, 3});
  EXPECT_TRUE(torch::equal(guided_velocity(vc, vu, 1.0), vc));
  EXPECT_TRUE(torch::allclose(guided_velocity(vc, vu, 3.0), vu + 3 * (vc - vu)));
}

// The posterior mean of x0 ~ N(mean, variance) (per pixel) given x_s = (1 - s) x0 + s e, and the
// velocity a perfect flow network would predict there: v = (x_s - x0_hat) / s.
torch::Tensor gaussian_velocity(const torch::Tensor& mean, double variance,
                                const torch::Tensor& x_s, double s) {
  const double gain = (1 - s) * variance / ((1 - s) * (1 - s) * variance + s * s);
  return (x_s - (mean + gain * (x_s - (1 - s) * mean))) / s;
}

// The VSD gradient's RMS at each level for a generator at `distance` from the ground truth, with
// a real score conditioned on the dense image (a near-delta posterior at the truth) or on an 8x8
// colour map (a posterior at the cells' means, as wide as the detail the map leaves out), and a
// fake score that has learnt the generator's output to within 0.05.
std::vector<double> vsd_rms_by_level(bool dense, double distance,
                                     const std::vector<double>& levels) {
  torch::manual_seed(12);
  const auto truth = 0.5 * torch::randn({1, 1, 64, 64}, torch::kDouble);
  const auto cells = torch::avg_pool2d(truth, 8).repeat_interleave(8, 2).repeat_interleave(8, 3);
  const double detail = (truth - cells).pow(2).mean().item<double>();
  const auto noise = torch::randn_like(truth);
  const auto x_hat = truth + distance * torch::randn_like(truth);
  std::vector<double> rms;
  for (double s : levels) {
    const auto x_s = (1 - s) * x_hat + s * noise;
    const auto level = torch::full({1}, s, torch::kDouble);
    const auto real =
        dense ? gaussian_velocity(truth, 1e-4, x_s, s) : gaussian_velocity(cells, detail, x_s, s);
    const auto fake = gaussian_velocity(x_hat, 0.05 * 0.05, x_s, s);
    const auto grad = vsd_gradient(x_hat, flow_clean_estimate(x_s, real, level),
                                   flow_clean_estimate(x_s, fake, level));
    rms.push_back(grad.pow(2).mean().sqrt().item<double>());
  }
  return rms;
}

double peak(const std::vector<double>& values) {
  return *std::max_element(values.begin(), values.end());
}

TEST(ScoreDistillation, ADenseConditionMakesTheGradientBlowUpAsTheGeneratorNearsTheTruth) {
  // Seed 002's claim, reconstructed (docs/generative.md): conditioned on the dense image, the
  // teacher's clean estimate is the truth at every level, so OSEDiff's normaliser
  // mean|x_hat - x0_real| is the generator's own distance to it and the gradient grows as that
  // distance shrinks (most at low and middle levels, where the fake score's estimate still
  // differs from x_hat); conditioned on a colour map it stays bounded by the detail the map omits.
  const std::vector<double> levels{0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.98};
  const auto dense_far = vsd_rms_by_level(true, 1e-2, levels);
  const auto dense_near = vsd_rms_by_level(true, 1e-3, levels);
  const auto icm_far = vsd_rms_by_level(false, 1e-2, levels);
  const auto icm_near = vsd_rms_by_level(false, 1e-3, levels);
  // The figures docs/generative.md quotes (ctest -R ScoreDistillation -V).
  std::printf(
      "peak VSD gradient RMS: dense %.2f (distance 0.01), %.2f (0.001); colour map %.2f, %.2f\n",
      peak(dense_far), peak(dense_near), peak(icm_far), peak(icm_near));
  EXPECT_GT(peak(dense_near), 4 * peak(dense_far));
  EXPECT_GT(peak(dense_near), 10 * peak(icm_near));
  EXPECT_LT(peak(icm_near), 2.0);
  EXPECT_NEAR(peak(icm_near), peak(icm_far), 0.05 * peak(icm_far));
  // At the top level both are a plain pull toward the teacher's mean, of RMS about 1.
  EXPECT_NEAR(dense_near.back(), icm_near.back(), 0.3);
  // The dense gradient peaks below the middle level, not at the top.
  const auto top = std::max_element(dense_near.begin(), dense_near.end()) - dense_near.begin();
  EXPECT_LT(levels[top], 0.5);
}

}  // namespace
}  // namespace srkit
