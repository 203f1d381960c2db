// Low-rank adapters against their definitions: a conv layer with an adapter equals the layer plus
// the adapter's own two convolutions (peft's unmerged form, computed apart), a fresh adapter
// changes nothing, merged equals unmerged, stacking, scaling and disabling give the sums they
// name, and gradients reach only what is trainable.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/nn/flow_unet.h"
#include "srkit/nn/lora.h"
#include "support/tiny_flow.h"

namespace srkit {
namespace {

namespace F = torch::nn::functional;

FlowUNet small_network(uint64_t seed) {
  torch::manual_seed(seed);
  FlowUNet net(testing::tiny_flow_options());
  torch::NoGradGuard no_grad;
  for (auto& p : net->parameters()) p.normal_(0, 0.2);  // no zero-initialised layer left
  return net;
}

struct Inputs {
  torch::Tensor x, condition, s;
};

Inputs inputs() {
  torch::manual_seed(11);
  return {torch::randn({2, 3, 12, 12}), torch::rand({2, 3, 12, 12}), torch::rand({2})};
}

torch::Tensor run(FlowUNet& net, const Inputs& in) {
  return net->forward(in.x, in.condition, in.s);
}

LoraOptions block_convs(int64_t rank) {
  LoraOptions options;
  options.rank = rank;
  options.alpha = 2.0 * static_cast<double>(rank);
  options.targets = {".*\\.conv[12]", "embed1"};
  return options;
}

// Gives an adapter a non-zero up factor, as training would.
void train_up(Lora& adapter, uint64_t seed) {
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& item : adapter->named_parameters()) {
    if (item.key().size() > 3 && item.key().substr(item.key().size() - 3) == ".up") {
      item.value().normal_(0, 0.1);
    }
  }
}

TEST(Lora, ChoosesTheLayersItsTargetsNameAndStartsAsNoChange) {
  auto net = small_network(1);
  const auto in = inputs();
  const auto before = run(net, in);
  Lora adapter(*net, block_convs(4), 5);
  // Two blocks down, two in the middle, two up (blocks: 1 a level): conv1 and conv2 each; embed1.
  ASSERT_EQ(adapter->layers().size(), 13U);
  EXPECT_EQ(adapter->layers().front(), "embed1");
  for (const auto& layer : adapter->layers()) EXPECT_EQ(layer.find("film"), std::string::npos);
  LoraStack stack(*net);
  stack.add("dpo", adapter);
  stack.apply();
  EXPECT_TRUE(torch::equal(run(net, in), before));
  EXPECT_EQ(stack.describe()[0]["layers"], 13);
}

// peft's unmerged form of a conv adapter: the base convolution plus up(down(x)), with down a conv
// of the layer's kernel and rank outputs and up a 1x1 conv, computed here without the stack.
TEST(Lora, AnAdaptedConvolutionEqualsTheBaseConvolutionPlusTheAdaptersConvolutions) {
  torch::manual_seed(2);
  torch::nn::Sequential net(torch::nn::Conv2d(torch::nn::Conv2dOptions(5, 7, 3).padding(1)));
  LoraOptions options;
  options.rank = 3;
  options.alpha = 6;
  options.targets = {"0"};
  Lora adapter(*net, options, 9);
  train_up(adapter, 4);
  const auto x = torch::randn({2, 5, 9, 8});
  const auto conv = net[0]->as<torch::nn::Conv2dImpl>();
  const auto base = F::conv2d(x, conv->weight, F::Conv2dFuncOptions().bias(conv->bias).padding(1));
  const auto params = adapter->named_parameters();
  const auto down = params["layers.0.down"].view({3, 5, 3, 3});
  const auto up = params["layers.0.up"].view({7, 3, 1, 1});
  const auto side = F::conv2d(F::conv2d(x, down, F::Conv2dFuncOptions().padding(1)), up);
  const double scale = 0.5;
  LoraStack stack(*net);
  stack.add("a", adapter, scale);
  stack.apply();
  const auto adapted = net->forward(x);
  EXPECT_TRUE(torch::allclose(adapted, base + scale * (6.0 / 3.0) * side, 1e-4, 1e-5));
  stack.release();
  EXPECT_TRUE(torch::allclose(net->forward(x), base));
}

TEST(Lora, MergedEqualsUnmergedAndUnmergingRestoresTheBase) {
  auto net = small_network(3);
  const auto in = inputs();
  const auto base = run(net, in);
  std::vector<torch::Tensor> weights;
  for (const auto& p : net->parameters()) weights.push_back(p.detach().clone());
  Lora sft(*net, block_convs(4), 1);
  train_up(sft, 2);
  LoraStack stack(*net);
  stack.add("sft", sft, 0.7);
  stack.apply();
  const auto unmerged = run(net, in);
  EXPECT_GT((unmerged - base).abs().max().item<double>(), 1e-2);  // the adapter does something
  stack.merge("sft");
  EXPECT_TRUE(torch::allclose(run(net, in), unmerged, 1e-4, 1e-5));
  EXPECT_EQ(stack.describe()[0]["merged"], true);
  EXPECT_THROW(stack.set_scale("sft", 1.0), Error);
  stack.unmerge("sft");
  const auto params = net->parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_TRUE(torch::allclose(params[i], weights[i], 1e-5, 1e-6)) << i;
  }
  EXPECT_TRUE(torch::allclose(run(net, in), unmerged, 1e-4, 1e-5));
  stack.release();
  EXPECT_TRUE(torch::allclose(run(net, in), base, 1e-4, 1e-5));
}

// Seed 001's dual-LoRA reference: policy = base + SFT + DPO, reference = the same with DPO
// disabled; the stack's sums against networks whose weights carry the sums themselves.
TEST(Lora, StackedScaledAndDisabledAdaptersGiveTheSumsTheyName) {
  auto net = small_network(4);
  const auto in = inputs();
  Lora sft(*net, block_convs(4), 1);
  Lora dpo(*net, block_convs(2), 2);
  train_up(sft, 3);
  train_up(dpo, 4);
  LoraStack stack(*net);
  stack.add("sft", sft);
  stack.add("dpo", dpo, 0.5);
  stack.apply();
  const auto policy = run(net, in);
  stack.set_enabled("dpo", false);
  stack.apply();
  const auto reference = run(net, in);
  stack.release();
  // The twins: fresh copies of the network with the products added to their weights by hand.
  const auto with = [&](double dpo_scale) {
    auto twin = small_network(4);
    torch::NoGradGuard no_grad;
    auto modules = twin->named_modules();
    for (size_t k = 0; k < sft->layers().size(); ++k) {
      auto weight = modules[sft->layers()[k]]->named_parameters(false)["weight"];
      weight.add_(sft->delta(k)).add_(dpo->delta(k), dpo_scale);
    }
    return run(twin, in);
  };
  EXPECT_TRUE(torch::allclose(policy, with(0.5), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(reference, with(0.0), 1e-4, 1e-5));
  EXPECT_GT((policy - reference).abs().max().item<double>(), 1e-3);
  EXPECT_THROW(stack.add("sft", sft), Error);
}

TEST(Lora, GradientsReachOnlyTheTrainableAdapter) {
  auto net = small_network(5);
  for (auto& p : net->parameters()) p.requires_grad_(false);
  Lora sft(*net, block_convs(4), 1);
  train_up(sft, 2);
  for (auto& p : sft->parameters()) p.requires_grad_(false);
  Lora dpo(*net, block_convs(4), 3);
  LoraStack stack(*net);
  stack.add("sft", sft);
  stack.add("dpo", dpo);
  stack.apply();
  run(net, inputs()).square().mean().backward();
  for (const auto& p : net->parameters()) EXPECT_FALSE(p.grad().defined());
  for (const auto& p : sft->parameters()) EXPECT_FALSE(p.grad().defined());
  // With up at zero only up's gradient is non-zero (down's passes through up).
  for (const auto& item : dpo->named_parameters()) {
    ASSERT_TRUE(item.value().grad().defined()) << item.key();
    const double norm = item.value().grad().abs().sum().item<double>();
    if (item.key().find(".up") != std::string::npos) {
      EXPECT_GT(norm, 0) << item.key();
    } else {
      EXPECT_EQ(norm, 0) << item.key();
    }
  }
}

TEST(Lora, OptionsAndTargetsNameWhatIsWrong) {
  auto net = small_network(6);
  const auto message = [&](const LoraOptions& options) {
    try {
      Lora adapter(*net, options, 0);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUsage) << e.what();
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  LoraOptions options;
  options.targets = {".*conv9"};
  EXPECT_NE(message(options).find("'.*conv9' matches no"), std::string::npos);
  options.targets = {"(("};
  EXPECT_NE(message(options).find("not a regular expression"), std::string::npos);
  EXPECT_THROW(lora_options({{"rank", 0}, {"targets", {"x"}}}), Error);
  EXPECT_THROW(lora_options({{"rank", 4}}), Error);
  EXPECT_THROW(lora_options({{"rnak", 4}, {"targets", {"x"}}}), Error);
  const auto parsed = lora_options({{"rank", 16}, {"targets", {"a", "b"}}});
  EXPECT_EQ(parsed.rank, 16);
  EXPECT_EQ(parsed.alpha, 16);  // alpha defaults to the rank: a scale of 1
  EXPECT_EQ(lora_options(to_json(parsed)).targets.size(), 2U);
  // An adapter made on a wider network has the same layer names but not their shapes.
  auto wider_options = testing::tiny_flow_options();
  wider_options.channels = 16;
  FlowUNet wider(wider_options);
  LoraStack stack(*net);
  try {
    stack.add("wide", Lora(*wider, block_convs(2), 0));
    FAIL() << "an adapter of other shapes was added";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("another shape"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace srkit
