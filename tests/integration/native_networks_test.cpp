// srkit's native RDN/RRDN with the imported UpscalerJS weights loaded agree with the imported
// graphs (the form that matches the packages' golden outputs, tests/integration/parity_test.cpp).
#include <ostream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/io/tfjs_model.h"
#include "srkit/models/registry.h"
#include "srkit/nn/keras_graph.h"
#include "srkit/nn/network.h"
#include "test_data.h"

namespace srkit {
namespace {

struct ImportedCase {
  std::string model;
  int64_t scale;
};
void PrintTo(const ImportedCase& c, std::ostream* os) { *os << c.model << " x" << c.scale; }

class NativeVsImported : public ::testing::TestWithParam<ImportedCase> {};

TEST_P(NativeVsImported, SameOutputsAndSameFacts) {
  const auto& [name, scale] = GetParam();
  const auto& entry = find_model(name);
  const auto topology = read_tfjs_topology(model_json_path(entry, scale));
  const auto weights = read_tfjs_weights(topology);
  KerasGraph imported(topology, /*fuse_upsampling=*/false);  // the literal graph
  imported->load_weights(weights);
  const auto native = network_from_keras(topology, entry.value_range);
  native->load_keras_weights(weights, topology.model_json.string());

  EXPECT_EQ(native->scale(), scale);
  EXPECT_EQ(native->parameter_count(), imported->stats().parameters);
  EXPECT_DOUBLE_EQ(native->receptive_radius(), imported->stats().receptive_radius);
  EXPECT_NEAR(native->flops_per_input_pixel(), imported->stats().flops_per_input_pixel,
              1e-9 * imported->stats().flops_per_input_pixel);

  torch::manual_seed(7);
  torch::NoGradGuard no_grad;
  const auto x = torch::rand({1, 3, 21, 26}) * entry.value_range;
  const auto expected = imported->forward(x);
  const auto ours = native->forward(x);
  ASSERT_EQ(ours.sizes(), expected.sizes());
  const double diff = (ours - expected).abs().max().item<double>() / entry.value_range;
  std::printf("%s x%ld: max |native - imported| = %.3g of full scale\n", name.c_str(),
              static_cast<long>(scale), diff);
  EXPECT_LT(diff, 1e-5);

  // A native network trains: the gradient reaches the first layer.
  torch::GradMode::set_enabled(true);
  native->zero_grad();
  native->forward(x.slice(2, 0, 12).slice(3, 0, 12)).mean().backward();
  const auto first = native->named_parameters().begin()->value();
  ASSERT_TRUE(first.grad().defined());
  EXPECT_GT(first.grad().abs().sum().item<double>(), 0);
}

INSTANTIATE_TEST_SUITE_P(
    UpscalerJs, NativeVsImported,
    ::testing::Values(ImportedCase{"default", 2}, ImportedCase{"esrgan-slim", 4},
                      ImportedCase{"esrgan-medium", 3}, ImportedCase{"esrgan-thick", 2}),
    [](const auto& info) { return testing::case_name(info.param.model, info.param.scale); });

}  // namespace
}  // namespace srkit
