// The .srkit format: one versioned format for every native network, opened once by the registry
// as the Model its architecture makes. Files written before version 2 (single-image version 1,
// and guided models of format "srkit-guided-model") still load; newer versions and unknown
// architectures are clear errors naming the file.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/models/guided_model.h"
#include "srkit/models/model_file.h"
#include "srkit/models/registry.h"
#include "srkit/nn/magnet.h"
#include "srkit/nn/network.h"
#include "support/temp_dir.h"

namespace srkit {
namespace {

// A model file as an older (or newer) srkit wrote it: `about` as given, the module's weights.
void write_raw(const std::filesystem::path& path, torch::nn::Module& network,
               const nlohmann::json& about) {
  torch::serialize::OutputArchive archive, weights;
  archive.write("srkit", c10::IValue(about.dump()));
  network.save(weights);
  archive.write("weights", weights);
  save_archive_atomically(archive, path, "the model file");
}

std::string error_of(const std::filesystem::path& path) {
  try {
    open_model_file(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(ModelFile, GuidedFilesOfTheFirstFormatOpenAsAGuidedModelThatRuns) {
  const testing::TempDir dir;
  torch::manual_seed(4);
  MagNet net(MagNetConfig{});
  write_raw(dir / "old.srkit", *net,
            {{"format", "srkit-guided-model"},
             {"name", "old"},
             {"tasks", {"pan"}},
             {"network", net->config().to_json()}});
  const auto model = open_model_file(dir / "old.srkit");
  EXPECT_EQ(model->card().task, "guided");
  EXPECT_EQ(model->card().inputs, std::vector<std::string>{"guide"});
  EXPECT_EQ(model->card().tasks, std::vector<std::string>{"pan"});
  EXPECT_EQ(model->card().sha256.size(), 1u);

  ModelInput input;
  input.image = torch::rand({1, 4, 8, 8});
  input.extras["guide"] = torch::rand({1, 1, 32, 32});
  input.task = "pan";
  net->eval();
  const auto expected = net->forward(GuidedTask::kPan, input.image, input.extras["guide"]).image;
  const auto out = model->run(input);
  ASSERT_EQ(out.sizes(), torch::IntArrayRef({1, 4, 32, 32}));
  EXPECT_LT((out - expected).abs().max().item<double>(), 1e-5);
  // A guided model refuses to run on an image alone.
  EXPECT_THROW(model->forward(input.image), Error);
}

TEST(ModelFile, SingleImageFilesOfVersionOneOpenAndVersionTwoRoundTrips) {
  const testing::TempDir dir;
  torch::manual_seed(5);
  auto network =
      make_network({{"architecture", "compact"}, {"scale", 2}, {"features", 8}, {"convs", 1}});
  network->eval();
  write_raw(dir / "v1.srkit", *network,
            {{"format", "srkit-model"}, {"version", 1}, {"network", network->config()}});
  save_model_file(dir / "v2.srkit", *network, {{"name", "v2"}});
  const auto x = torch::rand({1, 3, 6, 5});
  torch::NoGradGuard no_grad;
  const auto expected = network->forward(x);
  for (const char* name : {"v1.srkit", "v2.srkit"}) {
    const auto model = open_model_file(dir / name);
    EXPECT_EQ(model->card().task, "sr") << name;
    EXPECT_EQ(model->card().scale, 2) << name;
    EXPECT_TRUE(model->card().inputs.empty()) << name;
    model->prepare(torch::kCPU, false);
    EXPECT_LT((model->forward(x) - expected).abs().max().item<double>(), 1e-6) << name;
  }
  // Extra inputs or a task given to a single-image model are refused, not ignored.
  const auto model = open_model_file(dir / "v2.srkit");
  ModelInput input;
  input.image = x;
  input.task = "depth";
  EXPECT_THROW(model->run(input), Error);
}

TEST(ModelFile, NewerVersionsAndUnknownArchitecturesAreClearErrors) {
  const testing::TempDir dir;
  auto network =
      make_network({{"architecture", "compact"}, {"scale", 2}, {"features", 8}, {"convs", 1}});
  write_raw(dir / "future.srkit", *network,
            {{"format", "srkit-model"}, {"version", 99}, {"network", network->config()}});
  const auto future = error_of(dir / "future.srkit");
  EXPECT_NE(future.find("future.srkit"), std::string::npos) << future;
  EXPECT_NE(future.find("newer srkit"), std::string::npos) << future;

  auto config = network->config();
  config["architecture"] = "flow-unet";
  write_raw(dir / "unknown.srkit", *network,
            {{"format", "srkit-model"}, {"version", 2}, {"network", config}});
  const auto unknown = error_of(dir / "unknown.srkit");
  EXPECT_NE(unknown.find("unknown.srkit"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("flow-unet"), std::string::npos) << unknown;

  write_raw(dir / "other.srkit", *network, {{"format", "something-else"}});
  EXPECT_NE(error_of(dir / "other.srkit").find("not a srkit model file"), std::string::npos);
}

}  // namespace
}  // namespace srkit
