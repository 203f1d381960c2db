// The trainer's small parts against their definitions: the learning-rate schedule and the moving
// average of the weights.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/nn/network.h"
#include "srkit/train/ema.h"
#include "srkit/train/schedule.h"

namespace srkit {
namespace {

TEST(Schedule, WarmsUpLinearlyThenFollowsTheCosineDownToTheFloor) {
  const ScheduleOptions options{1e-3, 4, 104, 1e-5};
  EXPECT_DOUBLE_EQ(warmup_cosine_lr(0, options), 0.25e-3);
  EXPECT_DOUBLE_EQ(warmup_cosine_lr(3, options), 1e-3);
  EXPECT_DOUBLE_EQ(warmup_cosine_lr(4, options), 1e-3);      // the cosine starts at the peak
  EXPECT_NEAR(warmup_cosine_lr(103, options), 1e-5, 1e-15);  // the last step is at the floor
  // Half way through the cosine: the mean of peak and floor.
  const double span = 104 - 4 - 1;
  EXPECT_NEAR(warmup_cosine_lr(4 + static_cast<int64_t>(span / 2), options),
              1e-5 + (1e-3 - 1e-5) * 0.5 * (1 + std::cos(M_PI * std::floor(span / 2) / span)),
              1e-15);
  for (int64_t step = 4; step < 103; ++step) {
    EXPECT_GE(warmup_cosine_lr(step, options), warmup_cosine_lr(step + 1, options));
  }
}

TEST(ExponentialMovingAverage, StartsAsACopyAndBlendsWithTheWarmedUpDecay) {
  torch::manual_seed(2);
  auto net =
      make_network({{"architecture", "compact"}, {"scale", 2}, {"features", 4}, {"convs", 1}});
  auto copy = make_network(net->config());
  ExponentialMovingAverage average(*net, *copy, 0.999);
  const auto w0 = net->parameters()[0].detach().clone();
  EXPECT_TRUE(torch::equal(copy->parameters()[0], w0));
  EXPECT_FALSE(copy->parameters()[0].requires_grad());
  {
    torch::NoGradGuard no_grad;
    net->parameters()[0].add_(1.0);
  }
  average.update(*net);  // first update: d = min(0.999, 1/10) = 0.1
  const auto expected = 0.1 * w0 + 0.9 * (w0 + 1.0);
  EXPECT_LT((copy->parameters()[0] - expected).abs().max().item<double>(), 1e-6);
  EXPECT_EQ(average.updates(), 1);
}

}  // namespace
}  // namespace srkit
