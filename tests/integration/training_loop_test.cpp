// The one training loop with a step of the kind the coming methods need: two networks updated
// alternately (distillation's generator and fake score) and a frozen reference scored on the same
// batch (preference optimisation's reference). The loop must update each network with its own
// optimiser, leave the reference alone, and resume such a run exactly.
#include <algorithm>
#include <cmath>

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/models/model_archive.h"
#include "srkit/train/training_loop.h"
#include "test_data.h"

namespace srkit {
namespace {

class TwoNetworkStep : public TrainingStep {
 public:
  TwoNetworkStep() {
    torch::manual_seed(1);
    first_ = torch::nn::Linear(4, 1);
    second_ = torch::nn::Linear(4, 1);
    reference_ = torch::nn::Linear(4, 1);
    for (auto& p : reference_->parameters()) p.set_requires_grad(false);
    first_optimizer_ =
        std::make_unique<torch::optim::Adam>(first_->parameters(), torch::optim::AdamOptions(1e-2));
    second_optimizer_ = std::make_unique<torch::optim::Adam>(second_->parameters(),
                                                             torch::optim::AdamOptions(1e-2));
  }
  std::vector<std::pair<std::string, torch::nn::Module*>> modules() override {
    return {{"first", first_.get()}, {"second", second_.get()}, {"reference", reference_.get()}};
  }
  std::vector<StepUpdate> updates() override {
    return {{first_optimizer_.get(), first_->parameters()},
            {second_optimizer_.get(), second_->parameters()}};
  }
  StepLosses losses(size_t update, int64_t step) override {
    // The batch of a step is a function of the step, drawn once for both updates.
    if (update == 0) {
      auto generator = at::detail::createCPUGenerator(static_cast<uint64_t>(step));
      batch_ = torch::randn({8, 4}, generator);
    }
    const auto loss = update == 0 ? (first_(batch_) - (reference_(batch_) + 1)).pow(2).mean()
                                  : (second_(batch_) - first_(batch_).detach()).pow(2).mean();
    return {loss, loss.detach().to(torch::kDouble).reshape({1})};
  }
  nlohmann::json log_record(const torch::Tensor& values) const override {
    return {{"first_loss", values[0].item<double>()}};
  }
  int64_t patches_per_step() const override { return 8; }
  nlohmann::json state(int) const override { return nlohmann::json::object(); }
  void restore(const nlohmann::json&, int) override {}
  void export_model(const std::filesystem::path& path, int64_t) override {
    save_model_archive(path, *second_, {{"name", "two"}});
  }

  torch::nn::Linear first_{nullptr}, second_{nullptr}, reference_{nullptr};

 private:
  std::unique_ptr<torch::optim::Optimizer> first_optimizer_, second_optimizer_;
  torch::Tensor batch_;
};

RunSettings settings_in(const std::filesystem::path& output) {
  RunSettings settings;
  settings.name = "two";
  settings.output = output;
  settings.text = "the config";
  settings.steps = 12;
  settings.lr = 1e-2;
  settings.log_every = 1;
  return settings;
}

double max_difference(torch::nn::Module& a, torch::nn::Module& b) {
  double most = 0;
  const auto pa = a.parameters(), pb = b.parameters();
  for (size_t i = 0; i < pa.size(); ++i) {
    most = std::max(most, (pa[i] - pb[i]).abs().max().item<double>());
  }
  return most;
}

TEST(TrainingLoop, TwoAlternatingUpdatesAndAFrozenReferenceTrainAndResumeExactly) {
  testing::TempDir whole_dir, parts_dir;
  ProcessGroup single(DistributedEnvironment{});

  TwoNetworkStep untouched;  // the weights every run starts from
  TwoNetworkStep whole;
  const auto settings = settings_in(whole_dir.path());
  const auto result = run_training(whole, settings, {}, single);
  EXPECT_TRUE(result.finished);
  EXPECT_TRUE(std::filesystem::exists(result.model_file));
  // Both networks moved, each by its own optimiser; the reference did not.
  EXPECT_GT(max_difference(*whole.first_, *untouched.first_), 1e-3);
  EXPECT_GT(max_difference(*whole.second_, *untouched.second_), 1e-3);
  EXPECT_EQ(max_difference(*whole.reference_, *untouched.reference_), 0);

  // Stopped after 5 steps, then resumed by a fresh step object: the same weights as one run.
  TrainOptions stop;
  stop.stop_after = 5;
  TwoNetworkStep first_part;
  const auto parts_settings = settings_in(parts_dir.path());
  EXPECT_FALSE(run_training(first_part, parts_settings, stop, single).finished);
  TrainOptions resume;
  resume.resume = true;
  TwoNetworkStep second_part;
  const auto resumed = run_training(second_part, parts_settings, resume, single);
  EXPECT_EQ(resumed.first_step, 5);
  EXPECT_TRUE(resumed.finished);
  EXPECT_LT(max_difference(*second_part.first_, *whole.first_), 1e-6);
  EXPECT_LT(max_difference(*second_part.second_, *whole.second_), 1e-6);
  EXPECT_EQ(max_difference(*second_part.reference_, *untouched.reference_), 0);
}

// The same step whose second update's loss turns NaN at one step (a diverged run).
class DivergingStep : public TwoNetworkStep {
 public:
  explicit DivergingStep(int64_t at) : at_(at) {}
  StepLosses losses(size_t update, int64_t step) override {
    auto losses = TwoNetworkStep::losses(update, step);
    if (update == 1 && step == at_) losses.total = losses.total * std::nan("");
    return losses;
  }

 private:
  int64_t at_;
};

TEST(TrainingLoop, ARunWhoseLossIsNotFiniteStopsWithAnErrorAndKeepsItsLastCheckpoint) {
  testing::TempDir dir;
  ProcessGroup single(DistributedEnvironment{});
  auto settings = settings_in(dir.path());
  settings.checkpoint_every = 2;
  DivergingStep step(/*at=*/5);  // the sixth step
  try {
    run_training(step, settings, {}, single);
    FAIL() << "a NaN loss was trained on";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage);
    const std::string message = e.what();
    EXPECT_NE(message.find("not finite at step 6 (update 2)"), std::string::npos) << message;
    EXPECT_NE(message.find("optimizer.lr"), std::string::npos) << message;
  }
  // Nothing of the NaN step reached the weights or the files: the checkpoint of step 4 resumes.
  for (const auto& p : step.second_->parameters())
    EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
  TrainOptions resume;
  resume.resume = true;
  resume.stop_after = 1;
  TwoNetworkStep healthy;
  EXPECT_EQ(run_training(healthy, settings, resume, single).first_step, 4);
}

}  // namespace
}  // namespace srkit
