// The native networks' building blocks against their obvious forms, and their configs.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/nn/compact_cnn.h"
#include "srkit/nn/layers.h"
#include "srkit/nn/network.h"
#include "srkit/nn/rdn.h"

namespace srkit {
namespace {

// The literal form: nearest upsampling, then the conv.
torch::Tensor literal_upsample_conv(const torch::Tensor& x, const torch::Tensor& weight,
                                    const torch::Tensor& bias, int64_t s) {
  const auto up = x.repeat_interleave(s, 2).repeat_interleave(s, 3);
  return torch::conv2d(up, weight, bias, 1,
                       at::IntArrayRef{weight.size(2) / 2, weight.size(3) / 2});
}

TEST(UpsampleConv, EqualsUpsamplingThenConvInValueAndGradient) {
  torch::manual_seed(3);
  for (int64_t s : {1, 2, 3, 4}) {
    for (int64_t k : {1, 3, 5}) {
      const auto x = torch::randn({2, 4, 7, 9}, torch::kDouble);
      const auto weight = torch::randn({3, 4, k, k}, torch::kDouble).requires_grad_();
      const auto bias = torch::randn({3}, torch::kDouble).requires_grad_();
      const auto target = torch::randn({2, 3, 7 * s, 9 * s}, torch::kDouble);
      const auto fast = upsample_conv(x, weight, bias, s);
      const auto slow = literal_upsample_conv(x, weight, bias, s);
      ASSERT_EQ(fast.sizes(), slow.sizes());
      EXPECT_LT((fast - slow).abs().max().item<double>(), 1e-12) << "s " << s << " k " << k;
      const auto fast_grad = torch::autograd::grad({(fast * target).sum()}, {weight, bias});
      const auto slow_grad = torch::autograd::grad({(slow * target).sum()}, {weight, bias});
      EXPECT_LT((fast_grad[0] - slow_grad[0]).abs().max().item<double>(), 1e-10);
      EXPECT_LT((fast_grad[1] - slow_grad[1]).abs().max().item<double>(), 1e-10);
    }
  }
}

TEST(NativeNetworks, RebuildFromTheirConfigAndUpscaleByTheirScale) {
  for (const auto& config :
       {nlohmann::json{{"architecture", "compact"}, {"scale", 3}},
        nlohmann::json{
            {"architecture", "rdn"}, {"scale", 2}, {"blocks", 2}, {"growth", 8}, {"features", 16}},
        nlohmann::json{{"architecture", "rrdn"},
                       {"scale", 4},
                       {"rrdbs", 1},
                       {"growth", 8},
                       {"features", 16}}}) {
    const auto net = make_network(config);
    const auto again = make_network(net->config());
    EXPECT_EQ(again->config(), net->config());
    EXPECT_EQ(again->parameter_count(), net->parameter_count());
    const auto y = net->forward(torch::rand({1, 3, 10, 12}));
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 3, 10 * net->scale(), 12 * net->scale()}));
  }
}

// make_network counts a config's parameters before building it (to refuse a hostile model file's
// config before allocating): the count is the built network's.
TEST(NativeNetworks, ParameterCountsAreKnownBeforeBuilding) {
  RdnConfig rdn;
  EXPECT_EQ(parameter_count(rdn), static_cast<double>(RdnImpl(rdn).parameter_count()));
  rdn = {3, 3, 2, 16, 24, 255.0};
  EXPECT_EQ(parameter_count(rdn), static_cast<double>(RdnImpl(rdn).parameter_count()));
  RrdnConfig rrdn;
  rrdn.rrdbs = 2;
  EXPECT_EQ(parameter_count(rrdn), static_cast<double>(RrdnImpl(rrdn).parameter_count()));
  rrdn = {2, 2, 2, 3, 8, 16, 0.2, 1.0};
  EXPECT_EQ(parameter_count(rrdn), static_cast<double>(RrdnImpl(rrdn).parameter_count()));
  for (const CompactConfig compact : {CompactConfig{}, CompactConfig{3, 8, 0}, CompactConfig{2, 12, 3}}) {
    EXPECT_EQ(parameter_count(compact), static_cast<double>(CompactCnnImpl(compact).parameter_count()));
  }
}

TEST(NativeNetworks, ConfigsBeyondTheParameterBudgetAreRefusedBeforeBuilding) {
  // Every value within its own range, together 2.9 trillion parameters (11 TB of float32).
  try {
    make_network({{"architecture", "rdn"}, {"blocks", 256}, {"convs", 64}, {"growth", 1024},
                  {"features", 1024}});
    FAIL() << "built";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("million parameters, more than srkit builds"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(make_network({{"architecture", "compact"}, {"features", 1024}, {"convs", 256}}),
               Error);
  EXPECT_NO_THROW(make_network({{"architecture", "rrdn"}, {"rrdbs", 23}, {"blocks", 3}}))
      << "ESRGAN's own size (RRDB x23) is well within";
}

// The receptive radius a network reports bounds what it sees: changing the input just outside it
// leaves the centre output unchanged, changing it just inside does not.
TEST(NativeNetworks, ReceptiveRadiusIsWhereTheCentreOutputStopsReacting) {
  torch::manual_seed(1);
  torch::NoGradGuard no_grad;
  const auto net = make_network({{"architecture", "compact"}, {"scale", 2}, {"convs", 3}});
  const int64_t r = static_cast<int64_t>(net->receptive_radius()), size = 2 * r + 9, c = size / 2;
  auto x = torch::rand({1, 3, size, size});
  const auto centre = [&](const torch::Tensor& in) {
    return net->forward(in).index({0, torch::indexing::Slice(), 2 * c, 2 * c});
  };
  const auto base = centre(x);
  auto outside = x.clone();
  outside.index_put_({0, torch::indexing::Slice(), c, c + r + 1}, 0.5);
  EXPECT_TRUE(torch::equal(centre(outside), base));
  auto inside = x.clone();
  inside.index_put_({0, torch::indexing::Slice(), c, c + r}, 5.0);
  EXPECT_FALSE(torch::equal(centre(inside), base));
}

TEST(NativeNetworks, ConfigErrorsNameTheKey) {
  const auto message = [](const nlohmann::json& config) {
    try {
      make_network(config);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({{"architecture", "unet"}}).find("rdn, rrdn or compact"), std::string::npos);
  EXPECT_NE(message({{"architecture", "compact"}, {"feature", 8}}).find("unknown key 'feature'"),
            std::string::npos);
  EXPECT_NE(message({{"architecture", "rdn"}, {"scale", 0}}).find("'scale'"), std::string::npos);
}

}  // namespace
}  // namespace srkit
