// The generative core's parts against what they must be: the noise generator against Philox's
// published answers and against itself windowed, the velocity network's locality (what tiles
// rely on), and the sampler against flows whose end is known.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <unistd.h>
#include <filesystem>

#include "srkit/core/error.h"
#include "srkit/engine/flow_upscale.h"
#include "srkit/models/flow_model.h"
#include "srkit/models/flow_sampler.h"
#include "srkit/models/registry.h"
#include "srkit/nn/flow_unet.h"
#include "srkit/ops/pixel_noise.h"

namespace srkit {
namespace {

TEST(PixelNoise, PhiloxGivesItsPublishedKnownAnswers) {
  // Random123's known-answer vectors for philox4x32-10 (counter, key -> four words).
  using Words = std::array<uint32_t, 4>;
  EXPECT_EQ(philox4x32({0, 0, 0, 0}, 0), (Words{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(philox4x32({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, ~uint64_t{0}),
            (Words{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(philox4x32({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, 0x299f31d0a4093822),
            (Words{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(PixelNoise, AWindowDrawsTheWholeImagesNoiseThere) {
  const auto whole = pixel_noise({7, 2}, 3, 0, 0, 61, 83);
  const auto window = pixel_noise({7, 2}, 3, 17, 29, 30, 41);
  EXPECT_TRUE(torch::equal(window, whole.slice(1, 17, 47).slice(2, 29, 70)));
  EXPECT_TRUE(torch::equal(pixel_noise({7, 2}, 3, 0, 0, 61, 83), whole));  // reproducible
  EXPECT_FALSE(torch::equal(pixel_noise({8, 2}, 3, 0, 0, 61, 83), whole));
  EXPECT_FALSE(torch::equal(pixel_noise({7, 3}, 3, 0, 0, 61, 83), whole));
  // Channels differ from each other (the channel is part of the key).
  EXPECT_FALSE(torch::equal(whole[0], whole[1]));
}

TEST(PixelNoise, IsStandardNormal) {
  const auto noise = pixel_noise({1, 0}, 3, 1000, 2000, 256, 256).to(torch::kDouble);
  EXPECT_NEAR(noise.mean().item<double>(), 0.0, 0.01);
  EXPECT_NEAR(noise.std().item<double>(), 1.0, 0.01);
  const double tails = (noise.abs() > 1.959964).to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(tails, 0.05, 0.003);
  // Neighbours are uncorrelated.
  const auto right = (noise.slice(2, 1) * noise.slice(2, 0, -1)).mean().item<double>();
  const auto below = (noise.slice(1, 1) * noise.slice(1, 0, -1)).mean().item<double>();
  EXPECT_NEAR(right, 0.0, 0.01);
  EXPECT_NEAR(below, 0.0, 0.01);
}

TEST(PixelNoise, CoordinatesOutsideTheGeneratorAreRefused) {
  EXPECT_THROW(pixel_noise({1, 0}, 3, -1, 0, 4, 4), Error);
  EXPECT_THROW(pixel_noise({1, 0}, 3, 0, (int64_t{1} << 31) - 2, 4, 4), Error);
}

// A network whose every weight is random (the zero-initialised convolutions of a fresh one would
// hide what lies behind them).
FlowUNet random_network(const FlowUNetOptions& options, uint64_t seed) {
  torch::manual_seed(seed);
  FlowUNet net(options);
  torch::NoGradGuard no_grad;
  for (auto& p : net->parameters()) p.normal_(0, 0.2);
  net->eval();
  return net;
}

FlowUNetOptions small_options() {
  FlowUNetOptions options;
  options.channels = 8;
  options.multipliers = {1, 2, 2};
  options.blocks = 1;
  options.embedding = 16;
  return options;
}

TEST(FlowUNet, APixelReachesNoFartherThanTheReceptiveRadius) {
  auto net = random_network(small_options(), 1);
  torch::NoGradGuard no_grad;
  const int64_t side = 128, at = 64;
  auto x = torch::randn({1, 3, side, side});
  auto condition = torch::randn({1, 3, side, side});
  const auto s = torch::full({1}, 0.4);
  const auto before = net->forward(x, condition, s);
  x.index_put_({0, 1, at, at}, x.index({0, 1, at, at}) + 1.0);
  const auto changed = (net->forward(x, condition, s) != before).any(1)[0];
  const auto where = changed.nonzero();
  ASSERT_GT(where.size(0), 0);
  const int64_t reach = (where - at).abs().max().item<int64_t>();
  EXPECT_LE(reach, net->receptive_radius());
  // The bound is not loose by more than the grid's alignment.
  EXPECT_GE(reach + 2 * net->size_multiple(), net->receptive_radius() / 2);
}

TEST(FlowUNet, AnAlignedWindowGivesTheWholeImagesVelocityInside) {
  auto net = random_network(small_options(), 2);
  torch::NoGradGuard no_grad;
  const int64_t radius = net->receptive_radius(), multiple = net->size_multiple();
  const int64_t h = 256, w = 200;
  const auto x = torch::randn({1, 3, h, w});
  const auto condition = torch::rand({1, 3, h, w});
  const auto s = torch::full({1}, 0.7);
  const auto whole = net->forward(x, condition, s);
  // A window at an aligned offset, cut off by the right edge of the image.
  const int64_t top = 4 * multiple, left = 12 * multiple, height = 200, width = w - left;
  const auto window =
      net->forward(x.slice(2, top, top + height).slice(3, left, left + width),
                   condition.slice(2, top, top + height).slice(3, left, left + width), s);
  // Inside: at least the radius from the window's cut edges (top, bottom, left).
  const auto inner = window.slice(2, radius, height - radius).slice(3, radius, width);
  const auto expected =
      whole.slice(2, top + radius, top + height - radius).slice(3, left + radius, w);
  ASSERT_GT(inner.numel(), 0);
  EXPECT_LT((inner - expected).abs().max().item<double>(), 1e-4);
}

TEST(FlowUNet, SidesThatAreNotMultiplesAreRefusedAndConfigsRoundTrip) {
  auto net = random_network(small_options(), 3);
  EXPECT_THROW(
      net->forward(torch::zeros({1, 3, 30, 32}), torch::zeros({1, 3, 30, 32}), torch::zeros({1})),
      Error);
  const auto config = to_json(small_options());
  EXPECT_EQ(to_json(flow_unet_options(config)), config);
  EXPECT_THROW(flow_unet_options({{"channels", 0}}), Error);
  EXPECT_THROW(flow_unet_options({{"blocks", "two"}}), Error);
  EXPECT_THROW(flow_unet_options({{"depth", 3}}), Error);
  // The CPU configuration is of the size the design asks for (1-5 M parameters).
  FlowUNet cpu(FlowUNetOptions{});
  EXPECT_GT(cpu->parameter_count(), 1'000'000);
  EXPECT_LT(cpu->parameter_count(), 5'000'000);
}

TEST(FlowSampler, AFlowToOneImageEndsOnItWhateverTheSolverAndSteps) {
  // For a single target image x0 the exact velocity is (x_s - x0) / s; its paths are straight,
  // so Euler and Heun land on x0 exactly (to rounding) at any step count.
  torch::manual_seed(4);
  const auto x0 = torch::rand({1, 3, 8, 8}, torch::kDouble);
  const auto noise = torch::randn({1, 3, 8, 8}, torch::kDouble);
  const VelocityFn velocity = [&](const torch::Tensor& x, double s) { return (x - x0) / s; };
  for (auto solver : {FlowSolver::kEuler, FlowSolver::kHeun}) {
    for (int64_t steps : {1, 4, 28}) {
      int64_t evaluations = 0;
      const auto x =
          sample_flow(noise, velocity, {solver, steps, 3.0}, [&](int64_t done, int64_t total) {
            evaluations = done;
            EXPECT_EQ(total, velocity_evaluations({solver, steps}));
          });
      EXPECT_LT((x - x0).abs().max().item<double>(), 1e-10);
      EXPECT_EQ(evaluations, solver == FlowSolver::kHeun ? 2 * steps - 1 : steps);
    }
  }
}

TEST(FlowSampler, HeunIsSecondOrderAndEulerFirst) {
  // dx/ds = s x from x(1) = 1 ends at x(0) = exp(-1/2).
  const auto one = torch::ones({1}, torch::kDouble);
  const VelocityFn velocity = [](const torch::Tensor& x, double s) { return s * x; };
  const auto error = [&](FlowSolver solver, int64_t steps) {
    return std::abs(sample_flow(one, velocity, {solver, steps}).item<double>() - std::exp(-0.5));
  };
  EXPECT_NEAR(error(FlowSolver::kEuler, 16) / error(FlowSolver::kEuler, 32), 2.0, 0.2);
  EXPECT_GT(error(FlowSolver::kHeun, 16) / error(FlowSolver::kHeun, 32), 3.5);
  EXPECT_LT(error(FlowSolver::kHeun, 16), error(FlowSolver::kEuler, 16) / 10);
}

TEST(FlowSampler, NoiseLevelsRunFromOneToZeroAndShiftTowardNoise) {
  const auto uniform = flow_noise_levels({FlowSolver::kEuler, 4, 1.0});
  ASSERT_EQ(uniform.size(), 5u);
  EXPECT_DOUBLE_EQ(uniform[0], 1.0);
  EXPECT_DOUBLE_EQ(uniform[2], 0.5);
  EXPECT_DOUBLE_EQ(uniform[4], 0.0);
  EXPECT_DOUBLE_EQ(flow_noise_levels({FlowSolver::kEuler, 2, 3.0})[1], 0.75);
  EXPECT_THROW(flow_noise_levels({FlowSolver::kEuler, 0}), Error);
  EXPECT_THROW(flow_solver_from_name("ddim"), Error);
  EXPECT_EQ(flow_solver_from_name("heun"), FlowSolver::kHeun);
}

FlowModel random_flow_model(int64_t scale, bool residual) {
  FlowModelSettings settings;
  settings.scale = scale;
  settings.residual = residual;
  settings.sampling = {FlowSolver::kEuler, 3};
  return FlowModel(random_network(small_options(), 5), settings, {{"name", "test-flow"}}, "");
}

TEST(FlowModel, ASeedReproducesItsSampleAndAnotherSeedDiffers) {
  auto model = random_flow_model(2, false);
  torch::manual_seed(6);
  const auto lr = torch::rand({1, 3, 9, 11});
  ModelInput input;
  input.image = lr;
  input.seed = 3;
  const auto first = model.run(input);
  EXPECT_EQ(first.sizes(), (std::vector<int64_t>{1, 3, 18, 22}));
  EXPECT_TRUE(torch::equal(model.run(input), first));
  input.seed = 4;
  EXPECT_GT((model.run(input) - first).abs().max().item<double>(), 1e-3);
  input.seed = 3;
  input.steps = 5;
  EXPECT_GT((model.run(input) - first).abs().max().item<double>(), 1e-3);
  EXPECT_EQ(model.card().task, "generative");
  EXPECT_TRUE(model.card().global_context);
}

TEST(FlowModel, TheResidualFormRoundTripsAnImageThroughTheFlowsSpace) {
  for (bool residual : {false, true}) {
    auto model = random_flow_model(4, residual);
    torch::manual_seed(7);
    const auto lr = torch::rand({2, 3, 6, 5});
    const auto hr = torch::rand({2, 3, 24, 20});
    const auto& settings = model.settings();
    const auto condition = flow_condition(lr, settings);
    EXPECT_LT((flow_image(flow_target(hr, condition, settings), condition, settings) - hr)
                  .abs()
                  .max()
                  .item<double>(),
              1e-5);
  }
}

// The settings of a config's model section and of a file: a typo or a value out of range is a
// usage error that names the key, never a default silently used.
TEST(FlowModel, SettingsNameTheKeyTheyRefuse) {
  const auto refusal = [](const nlohmann::json& json) {
    try {
      flow_model_settings(json);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUsage) << e.what();
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(refusal({{"residul", true}}).find("unknown key 'residul'"), std::string::npos);
  EXPECT_NE(refusal({{"steps", 0}}).find("'steps'"), std::string::npos);
  EXPECT_NE(refusal({{"steps", 2.5}}).find("'steps'"), std::string::npos);
  EXPECT_NE(refusal({{"residual_scale", -1}}).find("'residual_scale'"), std::string::npos);
  EXPECT_NE(refusal({{"residual", "yes"}}).find("'residual'"), std::string::npos);
  EXPECT_NE(refusal({{"solver", "ddim"}}).find("ddim"), std::string::npos);
  const auto settings =
      flow_model_settings({{"residual", false}, {"steps", 4}, {"solver", "heun"}});
  EXPECT_FALSE(settings.residual);
  EXPECT_EQ(settings.sampling.steps, 4);
  EXPECT_EQ(flow_model_settings(to_json(settings)).sampling.steps, 4);
}

TEST(FlowUpscale, TiledSamplingEqualsWholeImageSamplingForASeed) {
  // Sides that are not multiples of the network's (4): the grid is padded the same way whole
  // and tiled; windows of 8 output pixels, far smaller than the receptive radius.
  for (const char* solver : {"euler", "heun"}) {
    auto model = random_flow_model(2, true);
    torch::manual_seed(8);
    const auto lr = torch::rand({3, 13, 17});
    FlowUpscaleOptions options;
    options.seed = 11;
    options.steps = 2;
    options.solver = solver;
    auto sampling = model.settings().sampling;
    sampling.steps = 2;
    sampling.solver = flow_solver_from_name(solver);
    const GridVelocityFn whole = [&](const torch::Tensor& x, const torch::Tensor& c, double s) {
      return model.network().forward(x, c, torch::full({x.size(0)}, s));
    };
    const auto expected = model.sample(lr.unsqueeze(0), 11, sampling, whole)[0].clamp(0, 1);
    options.tile = 8;
    FlowUpscaleReport report;
    int64_t last = 0;
    const auto tiled = flow_upscale(
        model, lr, options,
        [&](int64_t done, int64_t total) {
          last = done;
          EXPECT_LE(done, total);
          return true;
        },
        &report);
    ASSERT_EQ(tiled.sizes(), (std::vector<int64_t>{3, 26, 34}));
    EXPECT_GT(report.windows, 1);
    EXPECT_EQ(last, report.windows * report.evaluations);
    EXPECT_LT((tiled - expected).abs().max().item<double>(), 1e-4) << solver;
  }
}

TEST(FlowUpscale, CancellingStopsTheSampling) {
  auto model = random_flow_model(2, false);
  FlowUpscaleOptions options;
  options.tile = 8;
  EXPECT_THROW(flow_upscale(model, torch::rand({3, 8, 8}), options,
                            [](int64_t done, int64_t) { return done < 3; }),
               Error);
}

TEST(FlowModel, AFileOpensAsTheSameSamplerAndADamagedOneIsRefused) {
  auto model = random_flow_model(2, true);
  const auto dir =
      std::filesystem::temp_directory_path() / ("srkit_flow_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / "flow.srkit";
  save_flow_model(path, model.network(), model.settings(), {{"name", "flow-x2"}});
  auto opened = open_model_file(path);
  EXPECT_EQ(opened->card().name, "flow-x2");
  EXPECT_EQ(opened->card().task, "generative");
  ModelInput input;
  input.image = torch::rand({1, 3, 8, 8});
  input.seed = 2;
  EXPECT_TRUE(torch::equal(opened->run(input), model.run(input)));
  // Settings out of range make the file damaged, not a crash.
  FlowModelSettings bad = model.settings();
  bad.sampling.steps = 0;
  const auto bad_path = dir / "bad.srkit";
  auto network = to_json(model.network().options());
  network["architecture"] = "flow_unet";
  save_model_archive(bad_path, model.network(), {{"network", network}, {"flow", to_json(bad)}});
  EXPECT_THROW(open_model_file(bad_path), Error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace srkit
