// The .srkit format: one versioned format for every native network, opened once by the registry
// as the Model its architecture makes. Version 3 is an .npz of float32 weights beside the
// description, read against the network's own shapes; the LibTorch archives of versions 1-2
// (single-image and guided, "srkit-guided-model") are refused with the command that upgrades them,
// and the upgrade runs as the original did. Newer versions, unknown architectures and files whose
// weights do not match their description are clear errors naming the file.
#include <algorithm>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/io/numpy_file.h"
#include "srkit/models/adapter_file.h"
#include "srkit/models/guided_model.h"
#include "srkit/models/model_file.h"
#include "srkit/models/registry.h"
#include "srkit/nn/flow_unet.h"
#include "srkit/nn/lora.h"
#include "srkit/nn/magnet.h"
#include "srkit/nn/network.h"
#include "support/temp_dir.h"
#include "support/tiny_flow.h"

namespace srkit {
namespace {

// A model file as srkit before version 3 wrote it: a LibTorch archive, `about` as given.
void write_libtorch_archive(const std::filesystem::path& path, torch::nn::Module& network,
                            const nlohmann::json& about) {
  torch::serialize::OutputArchive archive, weights;
  archive.write("srkit", c10::IValue(about.dump()));
  network.save(weights);
  archive.write("weights", weights);
  archive.save_to(path.string());
}

using Weights = std::vector<std::pair<std::string, torch::Tensor>>;

Weights weights_of(torch::nn::Module& network) {
  Weights weights;
  for (const auto& item : network.named_parameters())
    weights.emplace_back(item.key(), item.value());
  for (const auto& item : network.named_buffers()) weights.emplace_back(item.key(), item.value());
  return weights;
}

// A version-3 file with `about` exactly as given (no format or version added).
void write_npz_model(const std::filesystem::path& path, const Weights& weights,
                     const nlohmann::json& about) {
  write_npz(path, weights, {{"srkit.json", about.dump()}});
}

std::string error_of(const std::filesystem::path& path) {
  try {
    open_model_file(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

Network small_compact() {
  return make_network({{"architecture", "compact"}, {"scale", 2}, {"features", 8}, {"convs", 1}});
}

TEST(ModelFile, GuidedFilesOfTheFirstFormatAreUpgradedToAGuidedModelThatRuns) {
  const testing::TempDir dir;
  torch::manual_seed(4);
  MagNet net(MagNetConfig{});
  write_libtorch_archive(dir / "old.srkit", *net,
                         {{"format", "srkit-guided-model"},
                          {"name", "old"},
                          {"tasks", {"pan"}},
                          {"network", net->config().to_json()}});
  const auto refused = error_of(dir / "old.srkit");
  EXPECT_NE(refused.find("srkit models --upgrade " + (dir / "old.srkit").string()),
            std::string::npos)
      << refused;
  upgrade_model_file(dir / "old.srkit", dir / "new.srkit");
  const auto model = open_model_file(dir / "new.srkit");
  EXPECT_EQ(model->card().task, "guided");
  EXPECT_EQ(model->card().inputs, std::vector<std::string>{"guide"});
  EXPECT_EQ(model->card().tasks, std::vector<std::string>{"pan"});
  EXPECT_EQ(model->card().sha256.size(), 1u);
  EXPECT_TRUE(is_guided_model_file(dir / "new.srkit"));

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

TEST(ModelFile, VersionsOneAndTwoAreUpgradedAndVersionThreeRoundTripsAsAnNpz) {
  const testing::TempDir dir;
  torch::manual_seed(5);
  auto network = small_compact();
  network->eval();
  write_libtorch_archive(
      dir / "v1.srkit", *network,
      {{"format", "srkit-model"}, {"version", 1}, {"network", network->config()}});
  write_libtorch_archive(
      dir / "v2.srkit", *network,
      {{"format", "srkit-model"}, {"version", 2}, {"name", "v2"}, {"network", network->config()}});
  for (const char* name : {"v1", "v2"}) {
    EXPECT_NE(error_of(dir / (std::string(name) + ".srkit")).find("srkit models --upgrade"),
              std::string::npos)
        << name;
    upgrade_model_file(dir / (std::string(name) + ".srkit"),
                       dir / (std::string(name) + "_up.srkit"));
  }
  save_model_file(dir / "v3.srkit", *network, {{"name", "v3"}});
  const auto x = torch::rand({1, 3, 6, 5});
  torch::NoGradGuard no_grad;
  const auto expected = network->forward(x);
  for (const char* name : {"v1_up.srkit", "v2_up.srkit", "v3.srkit"}) {
    const auto model = open_model_file(dir / name);
    EXPECT_EQ(model->card().task, "sr") << name;
    EXPECT_EQ(model->card().scale, 2) << name;
    EXPECT_TRUE(model->card().inputs.empty()) << name;
    model->prepare(torch::kCPU, false);
    EXPECT_LT((model->forward(x) - expected).abs().max().item<double>(), 1e-6) << name;
  }
  EXPECT_EQ(open_model_file(dir / "v2_up.srkit")->card().name, "v2");
  // Upgrading a current file rewrites it as it is.
  upgrade_model_file(dir / "v3.srkit", dir / "v3_again.srkit");
  EXPECT_EQ(open_model_file(dir / "v3_again.srkit")->card().name, "v3");

  // What NumPy reads: the description and each weight by its path in the network.
  const auto keys = npz_keys(dir / "v3.srkit");
  EXPECT_NE(std::find(keys.begin(), keys.end(), "srkit.json"), keys.end());
  for (const auto& [name, weight] : weights_of(*network)) {
    EXPECT_TRUE(torch::equal(read_npz(dir / "v3.srkit", name), weight)) << name;
  }
  EXPECT_EQ(keys.size(), weights_of(*network).size() + 1);

  // Extra inputs or a task given to a single-image model are refused, not ignored.
  const auto model = open_model_file(dir / "v3.srkit");
  ModelInput input;
  input.image = x;
  input.task = "depth";
  EXPECT_THROW(model->run(input), Error);
  // The upgrade never replaces the file it reads.
  EXPECT_THROW(upgrade_model_file(dir / "v2.srkit", dir / "v2.srkit"), Error);
  EXPECT_THROW(upgrade_model_file(dir / "v2.srkit", dir.path()), Error);
}

TEST(ModelFile, NewerVersionsAndUnknownArchitecturesAreClearErrors) {
  const testing::TempDir dir;
  auto network = small_compact();
  write_npz_model(dir / "future.srkit", weights_of(*network),
                  {{"format", "srkit-model"}, {"version", 99}, {"network", network->config()}});
  const auto future = error_of(dir / "future.srkit");
  EXPECT_NE(future.find("future.srkit"), std::string::npos) << future;
  EXPECT_NE(future.find("newer srkit"), std::string::npos) << future;

  auto config = network->config();
  config["architecture"] = "flow-unet";
  write_npz_model(dir / "unknown.srkit", weights_of(*network),
                  {{"format", "srkit-model"}, {"version", 3}, {"network", config}});
  const auto unknown = error_of(dir / "unknown.srkit");
  EXPECT_NE(unknown.find("unknown.srkit"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("flow-unet"), std::string::npos) << unknown;

  write_npz_model(dir / "other.srkit", weights_of(*network), {{"format", "something-else"}});
  EXPECT_NE(error_of(dir / "other.srkit").find("not a srkit model file"), std::string::npos);
}

TEST(ModelFile, WeightsThatDoNotMatchTheDescriptionAreRefusedNamingTheWeight) {
  const testing::TempDir dir;
  auto network = small_compact();
  const nlohmann::json about = {
      {"format", "srkit-model"}, {"version", 3}, {"network", network->config()}};
  const auto weights = weights_of(*network);
  const auto& [first_name, first] = weights.front();

  auto reshaped = weights;
  reshaped.front().second = first.reshape({-1});
  write_npz_model(dir / "reshaped.srkit", reshaped, about);
  const auto shape = error_of(dir / "reshaped.srkit");
  EXPECT_NE(shape.find("damaged srkit model file"), std::string::npos) << shape;
  EXPECT_NE(shape.find("weight " + first_name + " has shape"), std::string::npos) << shape;

  // A weight larger than the network's is refused before it is read: the limit is the network's.
  auto larger = weights;
  larger.front().second = torch::zeros({first.numel() * 64});
  write_npz_model(dir / "larger.srkit", larger, about);
  const auto large = error_of(dir / "larger.srkit");
  EXPECT_NE(large.find("weight " + first_name + " declares"), std::string::npos) << large;

  auto missing = weights;
  missing.erase(missing.begin());
  write_npz_model(dir / "missing.srkit", missing, about);
  EXPECT_NE(error_of(dir / "missing.srkit").find("no weight " + first_name), std::string::npos);

  auto extra = weights;
  extra.emplace_back("stowaway", torch::zeros({2}));
  write_npz_model(dir / "extra.srkit", extra, about);
  EXPECT_NE(error_of(dir / "extra.srkit").find("stowaway.npy is not a weight"), std::string::npos);

  write_npz(dir / "garbled.srkit", weights, {{"srkit.json", "{\"format\": "}});
  EXPECT_NE(error_of(dir / "garbled.srkit").find("damaged srkit model file"), std::string::npos);

  std::ofstream(dir / "text.srkit") << "not a zip archive";
  EXPECT_NE(error_of(dir / "text.srkit").find("not a srkit model file"), std::string::npos);
  write_npz(dir / "plain.srkit", weights);
  EXPECT_NE(error_of(dir / "plain.srkit").find("not a srkit model file"), std::string::npos);
}

TEST(ModelFile, DescriptionsOfTheWrongShapeAreRefusedNamingTheKey) {
  const testing::TempDir dir;
  auto network = small_compact();
  const nlohmann::json about = {
      {"format", "srkit-model"}, {"version", 3}, {"network", network->config()}};
  const std::vector<std::pair<std::string, nlohmann::json>> cases = {
      {"version", nlohmann::json::object()},
      {"name", 5},
      {"network", "compact"},
      {"tasks", {"pan", 2}},
      {"licence", nullptr}};
  for (const auto& [key, value] : cases) {
    auto wrong = about;
    wrong[key] = value;
    write_npz_model(dir / "wrong.srkit", weights_of(*network), wrong);
    const auto error = error_of(dir / "wrong.srkit");
    EXPECT_NE(error.find("its description " + key), std::string::npos) << error;
  }
  write_npz(dir / "list.srkit", weights_of(*network), {{"srkit.json", "[1, 2]"}});
  EXPECT_NE(error_of(dir / "list.srkit").find("not a JSON object"), std::string::npos);
  // Found by bench/fuzz.sh: a "version" that is an object escaped as a JSON exception.
  const auto fuzzed =
      error_of(std::filesystem::path(SRKIT_FIXTURES) / "fuzz" / "srkit_version_is_an_object.srkit");
  EXPECT_NE(fuzzed.find("version is not a whole number"), std::string::npos) << fuzzed;
}

// A LoRA adapter is saved apart from its base: it loads back onto the same network with the same
// factors, is refused on a network of another width, and is not a model to open.
TEST(ModelFile, AnAdapterFileRoundTripsAndIsRefusedOnAnotherNetwork) {
  const testing::TempDir dir;
  const auto options = testing::tiny_flow_options();
  FlowUNet network(options);
  LoraOptions lora;
  lora.rank = 2;
  lora.targets = {".*conv1"};
  Lora adapter(*network, lora, 3);
  torch::manual_seed(1);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : adapter->parameters()) p.normal_();
  }
  const auto path = dir / "dpo.srkit";
  save_adapter_file(path, adapter, {{"name", "flow_test"}});
  EXPECT_EQ(adapter_file_base(path)["name"], "flow_test");
  FlowUNet same(options);
  const auto loaded = load_adapter_file(path, *same);
  ASSERT_EQ(loaded->layers(), adapter->layers());
  for (size_t k = 0; k < adapter->layers().size(); ++k) {
    EXPECT_TRUE(torch::equal(loaded->delta(k), adapter->delta(k))) << k;
  }
  auto wider_options = options;
  wider_options.channels = 16;
  FlowUNet wider(wider_options);
  try {
    load_adapter_file(path, *wider);
    FAIL() << "an adapter loaded onto another network";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("made for another network"), std::string::npos)
        << e.what();
  }
  const auto as_model = error_of(path);
  EXPECT_NE(as_model.find("LoRA adapter"), std::string::npos) << as_model;
  EXPECT_THROW(load_adapter_file(dir / "missing.srkit", *same), Error);
}

// The LibTorch archives bench/fuzz.sh found crashing LibTorch's reader (a segmentation fault in
// its TorchScript parser; a 4.4 GB allocation in its unpickler) are refused without being read.
TEST(ModelFile, LibTorchArchivesThatCrashLibTorchAreRefusedUnread) {
  for (const char* name :
       {"libtorch_torchscript_parser_segv.srkit", "libtorch_pickle_declares_4gb_string.srkit"}) {
    const auto path = std::filesystem::path(SRKIT_FIXTURES) / "fuzz" / name;
    const auto error = error_of(path);
    EXPECT_NE(error.find("srkit models --upgrade"), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace srkit
