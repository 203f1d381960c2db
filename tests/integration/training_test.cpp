// `srkit train` as a user runs it: a YAML config over a folder of photos, interrupted and resumed,
// data-parallel on two processes, and the exported model run by `srkit upscale --model PATH`.
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "srkit/io/image_io.h"
#include "srkit/models/model_file.h"
#include "test_data.h"

namespace srkit {
namespace {

namespace fs = std::filesystem;

// Two training photos and one validation photo from the fetched samples.
struct Photos {
  testing::TempDir dir;
  Photos() {
    fs::create_directories(dir / "train");
    fs::create_directories(dir / "val");
    fs::copy_file(testing::data_path("samples/astronaut.png"), dir / "train/astronaut.png");
    fs::copy_file(testing::data_path("samples/coffee.png"), dir / "train/coffee.png");
    fs::copy_file(testing::data_path("holdout/graf1.png"), dir / "val/graf1.png");
  }
};

// A small compact x2 run: 12 steps of 4 patches, logged every step.
std::string tiny_config(const Photos& photos, const std::string& output,
                        const std::string& model =
                            "model:\n  architecture: compact\n  scale: 2\n"
                            "  features: 8\n  convs: 2\n",
                        const std::string& lr = "1.0e-3") {
  return "name: tiny\noutput: " + output + "\n" + model +
         "data:\n  train: " + (photos.dir / "train").string() +
         "\n  patch: 32\n  batch: 4\n  patches_per_image: 4\n  workers: 2\n  seed: 5\n"
         "validation:\n  folder: " +
         (photos.dir / "val").string() +
         "\n  every: 6\n  crop: 64\n"
         "loss:\n  - type: l1\n  - type: sobolev\n    weight: 0.01\n    transform: dct\n"
         "optimizer:\n  lr: " +
         lr +
         "\n  clip_grad_norm: 0.5\n"
         "schedule:\n  steps: 12\n  warmup: 3\n"
         "ema: 0.9\ncheckpoint_every: 100\nlog_every: 1\n";
}

fs::path write_config(const Photos& photos, const std::string& name, const std::string& text) {
  const auto path = photos.dir / name;
  std::ofstream(path) << text;
  return path;
}

struct LogRecord {
  int64_t step;
  double loss, grad_norm;
};

std::vector<LogRecord> training_records(const fs::path& log) {
  std::vector<LogRecord> records;
  for (const auto& record : testing::step_records(log)) {
    records.push_back({record["step"], record["loss"], record["grad_norm"]});
  }
  return records;
}

std::vector<torch::Tensor> weights_of(const fs::path& model_file) {
  return load_model_file(model_file).network->parameters();
}

TEST(Training, ResumedRunLogsExactlyTheLossesOfAnUninterruptedOne) {
  Photos photos;
  const auto whole =
      write_config(photos, "whole.yaml", tiny_config(photos, (photos.dir / "a").string()));
  const auto split =
      write_config(photos, "split.yaml", tiny_config(photos, (photos.dir / "b").string()));
  ASSERT_EQ(testing::run_srkit("train --threads 2 -q --config " + whole.string()).exit_code, 0);
  const auto stopped =
      testing::run_srkit("train --threads 2 -q --stop-after 5 --config " + split.string());
  ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_EQ(training_records(photos.dir / "b/log.jsonl").size(), 5u);
  const auto resumed =
      testing::run_srkit("train --threads 2 -q --resume --json --config " + split.string());
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const auto summary = nlohmann::json::parse(resumed.out);
  EXPECT_EQ(summary["first_step"], 5);
  EXPECT_EQ(summary["step"], 12);
  EXPECT_TRUE(summary.contains("validation"));

  const auto a = training_records(photos.dir / "a/log.jsonl");
  const auto b = training_records(photos.dir / "b/log.jsonl");
  ASSERT_EQ(a.size(), 12u);
  ASSERT_EQ(b.size(), 12u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].step, b[i].step);
    EXPECT_EQ(a[i].loss, b[i].loss) << "step " << a[i].step;  // bit for bit
    EXPECT_EQ(a[i].grad_norm, b[i].grad_norm) << "step " << a[i].step;
  }
  const auto wa = weights_of(photos.dir / "a/tiny.srkit"),
             wb = weights_of(photos.dir / "b/tiny.srkit");
  ASSERT_EQ(wa.size(), wb.size());
  for (size_t i = 0; i < wa.size(); ++i) EXPECT_TRUE(torch::equal(wa[i], wb[i]));

  // Resuming with a changed config is refused, naming the file.
  std::ofstream(split, std::ios::app) << "# changed\n";
  const auto changed = testing::run_srkit("train -q --resume --config " + split.string());
  EXPECT_EQ(changed.exit_code, 2);
  EXPECT_TRUE(testing::contains(changed.err, "split.yaml"));
}

// SIGKILL between checkpoints (no handler runs, the log is ahead of the checkpoint): --resume
// starts from the last checkpoint, drops the log's records after it, and the run ends with the
// losses and weights of an uninterrupted one.
TEST(Training, AKilledRunResumesFromItsLastCheckpointAsIfNeverStopped) {
  Photos photos;
  const auto config = [&](const std::string& name, const std::string& output) {
    auto text = tiny_config(photos, (photos.dir / output).string());
    text.replace(text.find("steps: 12"), 9, "steps: 40");
    text.replace(text.find("checkpoint_every: 100"), 21, "checkpoint_every: 4");
    return write_config(photos, name, text);
  };
  const auto whole = config("whole.yaml", "a"), killed = config("killed.yaml", "b");
  ASSERT_EQ(testing::run_srkit("train --threads 2 -q --config " + whole.string()).exit_code, 0);
  const auto log = photos.dir / "b/log.jsonl";
  const std::string script = std::string("bash -c '") + SRKIT_BINARY +
                             " train --threads 2 -q --config " + killed.string() +
                             " & pid=$!; while [ $(cat " + log.string() +
                             " 2>/dev/null | grep -c loss) -lt 7 ] && kill -0 $pid 2>/dev/null; "
                             "do sleep 0.01; done; kill -9 $pid 2>/dev/null; wait $pid'";
  std::system(script.c_str());
  const auto at_kill = training_records(log).size();
  EXPECT_GE(at_kill, 7u);
  EXPECT_LT(at_kill, 40u) << "the run ended before it was killed";

  const auto resumed =
      testing::run_srkit("train --threads 2 -q --resume --json --config " + killed.string());
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const auto summary = nlohmann::json::parse(resumed.out);
  const auto first = summary["first_step"].get<size_t>();
  EXPECT_EQ(first % 4, 0u) << "a checkpoint's step";
  EXPECT_LE(first, at_kill);
  EXPECT_EQ(summary["step"], 40);
  const auto a = training_records(photos.dir / "a/log.jsonl");
  const auto b = training_records(log);
  ASSERT_EQ(a.size(), 40u);
  ASSERT_EQ(b.size(), 40u) << "records after the checkpoint were logged twice or lost";
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].step, b[i].step);
    EXPECT_EQ(a[i].loss, b[i].loss) << "step " << a[i].step;
  }
  const auto wa = weights_of(photos.dir / "a/tiny.srkit"),
             wb = weights_of(photos.dir / "b/tiny.srkit");
  ASSERT_EQ(wa.size(), wb.size());
  for (size_t i = 0; i < wa.size(); ++i) EXPECT_TRUE(torch::equal(wa[i], wb[i]));
}

TEST(Training, TwoProcessesMatchOneProcessWithTheCombinedBatchAndResumeItsRuns) {
  Photos photos;
  const auto one =
      write_config(photos, "one.yaml", tiny_config(photos, (photos.dir / "one").string()));
  const auto two =
      write_config(photos, "two.yaml", tiny_config(photos, (photos.dir / "two").string()));
  ASSERT_EQ(testing::run_srkit("train --threads 2 -q --config " + one.string()).exit_code, 0);
  const auto run = testing::run_srkit("train -q --nproc 2 --config " + two.string());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto a = training_records(photos.dir / "one/log.jsonl");
  const auto b = training_records(photos.dir / "two/log.jsonl");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_NEAR(a[i].loss, b[i].loss, 1e-5 * a[i].loss) << "step " << a[i].step;
    EXPECT_NEAR(a[i].grad_norm, b[i].grad_norm, 1e-4 * a[i].grad_norm) << "step " << a[i].step;
  }
  // A run stopped on one process resumes on two and continues the same curve.
  const auto mixed =
      write_config(photos, "mixed.yaml", tiny_config(photos, (photos.dir / "mixed").string()));
  ASSERT_EQ(testing::run_srkit("train --threads 2 -q --stop-after 5 --config " + mixed.string())
                .exit_code,
            0);
  const auto resumed = testing::run_srkit("train -q --nproc 2 --resume --config " + mixed.string());
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const auto c = training_records(photos.dir / "mixed/log.jsonl");
  ASSERT_EQ(a.size(), c.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_NEAR(a[i].loss, c[i].loss, 1e-5 * a[i].loss) << "step " << a[i].step;
  }

  const auto wa = weights_of(photos.dir / "one/tiny.srkit");
  const auto wb = weights_of(photos.dir / "two/tiny.srkit");
  for (size_t i = 0; i < wa.size(); ++i) {
    EXPECT_LT((wa[i] - wb[i]).abs().max().item<double>(),
              1e-4 * (wa[i].abs().max().item<double>() + 1e-3));
  }
}

// Fine-tuning starts from the imported weights in srkit's native network: with a zero learning rate
// the exported model upscales exactly as the imported one does.
TEST(Training, FineTuneStartsFromTheImportedWeightsAndExportsARunnableModel) {
  Photos photos;
  const auto config = write_config(photos, "ft.yaml",
                                   tiny_config(photos, (photos.dir / "ft").string(),
                                               "init: esrgan-slim\nmodel:\n  scale: 2\n", "0"));
  const auto trained = testing::run_srkit("train -q --stop-after 2 --config " + config.string());
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const auto input = testing::data_path("samples/butterfly.png").string();
  const auto ours = photos.dir / "ours.png", theirs = photos.dir / "theirs.png";
  ASSERT_EQ(testing::run_srkit("upscale -q " + input + " -o " + ours.string() + " --model " +
                               (photos.dir / "ft/tiny.srkit").string())
                .exit_code,
            0);
  ASSERT_EQ(testing::run_srkit("upscale -q " + input + " -o " + theirs.string() +
                               " --model esrgan-slim --scale 2")
                .exit_code,
            0);
  const auto a = read_image(ours).pixels, b = read_image(theirs).pixels;
  ASSERT_EQ(a.sizes(), b.sizes());
  EXPECT_LE((a - b).abs().max().item<double>() * 255, 1.0);
}

// Ctrl-C stops after the current step with a checkpoint (exit 130) and leaves no temporary files;
// --resume continues from that step.
TEST(Training, CtrlCCheckpointsAndResumeContinuesFromThere) {
  Photos photos;
  auto text = tiny_config(photos, (photos.dir / "run").string());
  text.replace(text.find("steps: 12"), 9, "steps: 100000");
  const auto config = write_config(photos, "long.yaml", text);
  const auto log = photos.dir / "run/log.jsonl";
  // Interrupt once the log shows that training has taken steps.
  const std::string command = std::string("bash -c '") + SRKIT_BINARY + " train -q --config " +
                              config.string() + " 2>/dev/null & pid=$!; " +
                              "for i in $(seq 600); do [ $(cat " + log.string() +
                              " 2>/dev/null | wc -l) -ge 3 ] && break; sleep 0.05; done; "
                              "kill -INT $pid; wait $pid'";
  const int status = std::system(command.c_str());
  EXPECT_EQ(WEXITSTATUS(status), 130);
  const auto before = training_records(log);
  ASSERT_GE(before.size(), 3u);
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(photos.dir / "run")) {
    files.push_back(entry.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"checkpoint.pt", "log.jsonl", "tiny.srkit"}));

  const auto resumed =
      testing::run_srkit("train -q --resume --stop-after 2 --json --config " + config.string());
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const auto summary = nlohmann::json::parse(resumed.out);
  EXPECT_EQ(summary["first_step"], before.back().step);
  EXPECT_EQ(summary["step"], before.back().step + 2);
}

// A damaged model file and a missing checkpoint are errors that name the file and the way out.
TEST(Training, DamagedModelFilesAndMissingCheckpointsAreClearErrors) {
  Photos photos;
  const auto junk = photos.dir / "junk.srkit";
  std::ofstream(junk) << "not an archive";
  const auto run =
      testing::run_srkit("upscale -q " + testing::data_path("samples/butterfly.png").string() +
                         " -o " + (photos.dir / "out.png").string() + " --model " + junk.string());
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(testing::contains(run.err, "junk.srkit")) << run.err;
  EXPECT_TRUE(testing::contains(run.err, "srkit train")) << run.err;
  EXPECT_FALSE(testing::contains(run.err, "frame #")) << "a backtrace leaked: " << run.err;
  EXPECT_FALSE(fs::exists(photos.dir / "out.png"));

  const auto config =
      write_config(photos, "fresh.yaml", tiny_config(photos, (photos.dir / "fresh").string()));
  const auto resumed = testing::run_srkit("train -q --resume --config " + config.string());
  EXPECT_EQ(resumed.exit_code, 2);
  EXPECT_TRUE(testing::contains(resumed.err, "checkpoint.pt")) << resumed.err;
  EXPECT_TRUE(testing::contains(resumed.err, "without --resume")) << resumed.err;
}

TEST(Training, ConfigErrorsNameTheFileAndTheKey) {
  Photos photos;
  const auto typo = write_config(
      photos, "typo.yaml", tiny_config(photos, (photos.dir / "t").string()) + "learning_rate: 1\n");
  const auto run = testing::run_srkit("train -q --config " + typo.string());
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(testing::contains(run.err, "typo.yaml")) << run.err;
  EXPECT_TRUE(testing::contains(run.err, "learning_rate")) << run.err;
  const auto bad_net = write_config(photos, "net.yaml",
                                    tiny_config(photos, (photos.dir / "n").string(),
                                                "model:\n  architecture: unet\n  scale: 2\n"));
  const auto run2 = testing::run_srkit("train -q --config " + bad_net.string());
  EXPECT_EQ(run2.exit_code, 2);
  EXPECT_TRUE(testing::contains(run2.err, "rdn, rrdn or compact")) << run2.err;
  // With init the network is the imported one: other model keys would be silently ignored.
  const auto init_and_model =
      write_config(photos, "init.yaml",
                   tiny_config(photos, (photos.dir / "i").string(),
                               "init: esrgan-slim\nmodel:\n  scale: 2\n  features: 8\n"));
  const auto run3 = testing::run_srkit("train -q --config " + init_and_model.string());
  EXPECT_EQ(run3.exit_code, 2);
  EXPECT_TRUE(testing::contains(run3.err, "model.features")) << run3.err;
}

}  // namespace
}  // namespace srkit
