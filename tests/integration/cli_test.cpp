// The srkit program as a user meets it: exit codes, messages that name the file and the fix,
// batches that go on past a bad file, JSON on stdout.
#include <sys/wait.h>
#include <zlib.h>

#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "srkit/core/runtime.h"
#include "srkit/engine/upscale.h"
#include "srkit/io/image_io.h"
#include "srkit/models/registry.h"
#include "srkit/nn/network.h"
#include "test_data.h"

namespace srkit {
namespace {

using testing::contains;
using testing::run_srkit;
using testing::TempDir;

// A small real photo to keep the program runs fast.
std::filesystem::path small_photo(const TempDir& dir, const std::string& name = "small.png") {
  const auto photo = read_image(testing::data_path("samples/butterfly.png")).pixels;
  write_image(dir / name, photo.slice(1, 0, 48).slice(2, 0, 64), 8);
  return dir / name;
}

TEST(Cli, ModelsListsEveryModelAsJson) {
  const auto result = run_srkit("models --json");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto cards = nlohmann::json::parse(result.out);
  size_t expected = 0;  // every registered model at every scale: 18 UpscalerJS, 4 bicubic, 31 ncnn
  for (const auto& entry : known_models()) expected += entry.scales.size();
  EXPECT_EQ(expected, 53u);
  EXPECT_EQ(cards.size(), expected);
  for (const auto& card : cards) {
    EXPECT_TRUE(card["installed"].get<bool>()) << card["name"];
    if (card["name"] != "bicubic") {
      EXPECT_GT(card["parameters"].get<int64_t>(), 200000);
      EXPECT_GE(card["sha256"].size(), 2u) << "model.json and a shard, or model.param and .bin";
      EXPECT_GT(card["receptive_radius"].get<double>(), 5);
    }
  }
}

TEST(Cli, BatchGoesOnPastABadFileAndReportsIt) {
  TempDir in, out;
  small_photo(in, "good.png");
  std::filesystem::copy_file(testing::data_path("bad/truncated.jpg"), in / "bad.jpg");
  const auto result =
      run_srkit("upscale " + in.path().string() + " -o " + out.path().string() + " --json -q");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(contains(result.err, "bad.jpg")) << result.err;
  EXPECT_TRUE(contains(result.err, "truncated")) << result.err;
  EXPECT_TRUE(std::filesystem::exists(out / "good.png"));
  EXPECT_FALSE(std::filesystem::exists(out / "bad.jpg"));
  const auto report = nlohmann::json::parse(result.out);
  EXPECT_EQ(report["failed"], 1);
  const auto good = read_image(out / "good.png").pixels;  // the default model, x4fast: x4
  EXPECT_EQ(good.sizes(), torch::IntArrayRef({3, 192, 256}));
  // Where the time went: the model's share of the upscale (which includes handing rows to the
  // writer: converting, waiting), the reading's, the upscale's and the commit's of the file's.
  const auto& record = report["images"][1];
  ASSERT_EQ(record["input"], (in / "good.png").string());
  const double model = record["seconds_model"], upscaling = record["seconds_upscaling"];
  const double reading = record["seconds_reading"], converting = record["seconds_converting"];
  const double waiting = record["seconds_waiting_for_encoding"], total = record["seconds"];
  EXPECT_GT(model, 0);
  EXPECT_LE(model, upscaling);
  EXPECT_GT(reading, 0);
  EXPECT_GE(record["seconds_encoding"].get<double>(), 0);
  const double committing = record["seconds_committing"];
  EXPECT_LE(model + converting + waiting, upscaling);
  EXPECT_GT(committing, 0);
  EXPECT_LE(reading + upscaling + committing, total);
}

// A disk that fills up in the middle of a streamed output (here a file size limit: writes past it
// fail as on a full disk): the file is named with the fix, nothing of it is left under any name,
// and the batch goes on with the next image.
TEST(Cli, ADiskFullMidStreamLeavesNothingAndTheBatchGoesOn) {
  TempDir in;
  std::filesystem::copy_file(testing::data_path("samples/chelsea.png"), in / "a_large.png");
  small_photo(in, "b_small.png");  // 256x192 out: well under the limit
  for (const std::string ext : {"png", "tif"}) {
    SCOPED_TRACE(ext);
    TempDir out;
    // 1024 blocks: 512 KB (512-byte blocks) or 1 MB (1 KB) as the shell counts; the 1804x1200
    // output is larger either way. SIGXFSZ ignored: the write fails instead of killing.
    const auto result = run_srkit("upscale " + in.path().string() + " -o " + out.path().string() +
                                      " --format " + ext + " --model esrgan-slim --scale 4 -q",
                                  "ulimit -f 1024; trap '' XFSZ;");
    EXPECT_EQ(result.exit_code, 1) << result.err;
    EXPECT_TRUE(contains(result.err, "a_large." + ext)) << result.err;
    EXPECT_TRUE(contains(result.err, "disk has space")) << result.err;
    std::vector<std::string> left;
    for (const auto& entry : std::filesystem::directory_iterator(out.path())) {
      left.push_back(entry.path().filename().string());
    }
    EXPECT_EQ(left, std::vector<std::string>{"b_small." + ext});
    EXPECT_EQ(read_image(out / ("b_small." + ext)).pixels.sizes(),
              torch::IntArrayRef({3, 192, 256}));
  }
}

// The output folder removed by someone else while a batch runs (here by the upscaler itself, a
// program that deletes it on its second run): that file fails, naming itself, the batch goes on
// into the folder made again, and no temporary file is left anywhere.
TEST(Cli, AnOutputFolderThatVanishesMidBatchFailsOnlyItsFile) {
  TempDir dir;
  const auto in = dir / "in";
  std::filesystem::create_directories(in);
  for (const char* name : {"a.png", "b.png", "c.png"}) small_photo(dir, std::string("in/") + name);
  const auto out = dir / "out";
  const auto script = dir / "vanish.sh";
  std::ofstream(script) << "n=$(cat " << (dir / "count").string() << " 2>/dev/null || echo 0)\n"
                        << "n=$((n + 1)); echo $n > " << (dir / "count").string() << "\n"
                        << "[ $n = 2 ] && rm -rf " << out.string() << "\n"
                        << "cp \"$1\" \"$2\"\n";
  const auto result = run_srkit("upscale " + in.string() + " -o " + out.string() +
                                " --model-cmd 'sh " + script.string() + " {in} {out}' --scale 1");
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_TRUE(contains(result.err, (out / "b.png").string() + ": cannot be created")) << result.err;
  EXPECT_TRUE(contains(result.err, "1 of 3 inputs failed")) << result.err;
  std::vector<std::string> left;
  for (const auto& entry : std::filesystem::directory_iterator(out)) {
    left.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(left, std::vector<std::string>{"c.png"}) << "a.png went with the folder";
  EXPECT_TRUE(torch::equal(read_image(out / "c.png").pixels, read_image(in / "c.png").pixels));
}

// A target that cannot be written (a read-only folder; for root, who may write anywhere, sysfs,
// where nobody can create a file) is an output error naming it, and nothing is written.
TEST(Cli, AnUnwritableTargetIsAnOutputErrorNamingIt) {
  TempDir dir;
  const auto photo = small_photo(dir);
  auto folder = dir / "read-only";
  std::filesystem::create_directories(folder);
  std::filesystem::permissions(
      folder, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  if (geteuid() == 0) folder = "/sys";
  const auto target = folder / "srkit-test-up.png";
  const auto result =
      run_srkit("upscale " + photo.string() + " -o " + target.string() + " --model bicubic");
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_TRUE(contains(result.err, target.string() + ": cannot be created")) << result.err;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    EXPECT_FALSE(contains(entry.path().filename().string(), "srkit-test-up")) << entry.path();
  }
}

TEST(Cli, AMissingOutputFolderIsCreated) {
  // `make demo` writes out/messi5_x4.png in a fresh checkout, where out/ does not exist.
  TempDir dir;
  const auto photo = small_photo(dir);
  const auto target = dir / "new" / "deeper" / "up.png";
  const auto result = run_srkit("upscale " + photo.string() + " -o " + target.string() + " -q");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(read_image(target).pixels.sizes(), torch::IntArrayRef({3, 192, 256}));  // x4fast
  // A folder that cannot be made is an output error naming the file, with nothing written.
  const auto blocked = dir / "small.png" / "up.png";  // under a file
  const auto refused = run_srkit("upscale " + photo.string() + " -o " + blocked.string());
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_TRUE(contains(refused.err, blocked.string())) << refused.err;
}

// A flag value out of range is a usage error (exit 2) naming the flag, before any work: every
// verb, every kind of check (a count, a size, a level, an odd window, a number at all).
TEST(Cli, OutOfRangeFlagValuesAreUsageErrorsNamingTheFlag) {
  TempDir dir;
  const auto photo = small_photo(dir).string();
  const auto out = (dir / "out.png").string();
  const auto upscale = "upscale " + photo + " -o " + out;
  const auto calibrate =
      "calibrate --data " + dir.path().string() + " -o " + (dir / "c.json").string();
  const auto guide = "guide --task depth --target " + photo + " --guide " + photo + " -o " + out;
  const std::vector<std::pair<std::string, std::string>> cases{
      {upscale + " --scale 0", "--scale"},
      {upscale + " --scale -4", "--scale"},
      {upscale + " --tile -5", "--tile"},
      {upscale + " --tile-pad -1", "--tile-pad"},
      {upscale + " --tile-overlap -3", "--tile-overlap"},
      {upscale + " --threads -1", "--threads"},
      {upscale + " --max-memory 0", "--max-memory"},
      {upscale + " --max-memory 12Q", "--max-memory"},
      {upscale + " --model-timeout 0", "--model-timeout"},
      {upscale + " --alpha 0", "--alpha"},
      {upscale + " --scale four", "--scale"},
      {"bench --size 0", "--size"},
      {"bench --repeats 0", "--repeats"},
      {"bench --warmup -1", "--warmup"},
      {calibrate + " --samples 0", "--samples"},
      {calibrate + " --score-kernel 4", "--score-kernel"},
      {calibrate + " --score-clip 0", "--score-clip"},
      {calibrate + " --fidelity-blur -1", "--fidelity-blur"},
      {calibrate + " --alpha 0.1,-2", "--alpha"},
      {"conformal-eval --calibration c.json --data " + dir.path().string() + " --bootstrap 0",
       "--bootstrap"},
      {"degrade " + photo + " -o " + out + " --scale 0", "--scale"},
      {"degrade " + photo + " -o " + out + " --grid -2", "--grid"},
      {"eval " + photo + " " + photo + " --crop -1", "--crop"},
      {"eval " + photo + " " + photo + " --peak 0", "--peak"},
      {guide + " --spatial 0", "--spatial"},
      {guide + " --tile -1", "--tile"},
      {"train --config " + std::string(SRKIT_SOURCE_DIR) + "/configs/compact_x4.yaml --nproc 0",
       "--nproc"},
      {"serve --port 70000", "--port"},
      {"serve --port -1", "--port"},
      {"serve --queue 0", "--queue"},
      {"serve --max-upload 0", "--max-upload"},
      {"serve --max-input-pixels 0", "--max-input-pixels"},
      {"serve --models no-such-model", "--models"},
      {"serve --calibration " + photo, "--calibration"},
      {"models --output " + (dir / "new.srkit").string(), "--upgrade"},
      {"models --upgrade " + photo, "--output"},
      {"models --upgrade " + photo + " --output " + photo, "--output"},
      {"models --upgrade " + (dir / "none.srkit").string() + " --output " +
           (dir / "new.srkit").string(),
       "--upgrade"},
  };
  for (const auto& [command, flag] : cases) {
    SCOPED_TRACE(command);
    const auto result = run_srkit(command);
    EXPECT_EQ(result.exit_code, 2) << result.err;
    EXPECT_TRUE(contains(result.err, flag)) << result.err;
    EXPECT_FALSE(std::filesystem::exists(out));
  }
}

// A PNG cut short in its pixels opens (its header is whole) and fails mid-upscale, when its rows
// are read: the file is named, nothing is left under the output's name, the batch goes on.
TEST(Cli, AnInputCutShortMidStreamFailsAloneAndLeavesNoOutput) {
  TempDir dir;
  const auto in = dir / "in", out = dir / "out";
  std::filesystem::create_directories(in);
  small_photo(dir, "in/good.png");
  torch::manual_seed(3);
  write_image(in / "cut.png", torch::rand({3, 120, 64}), 8);  // noise: the cut is in the pixels
  std::filesystem::resize_file(in / "cut.png", std::filesystem::file_size(in / "cut.png") * 6 / 10);
  const auto result = run_srkit("upscale " + in.string() + " -o " + out.string() + " -q");
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_TRUE(contains(result.err, (in / "cut.png").string())) << result.err;
  EXPECT_TRUE(std::filesystem::exists(out / "good.png"));
  EXPECT_FALSE(std::filesystem::exists(out / "cut.png"));
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(out))
    files += entry.is_regular_file();
  EXPECT_EQ(files, 1U) << "a temporary file was left";
}

// SIGKILL in the middle of a batch (no destructor runs): the outputs present are complete, the
// rest absent, and a rerun with --skip-existing finishes the batch, keeps what was written and
// removes the temporary files the killed run left.
TEST(Cli, AKilledBatchIsFinishedBySkipExisting) {
  TempDir dir;
  const auto in = dir / "in", out = dir / "out";
  std::filesystem::create_directories(in);
  small_photo(dir, "in/a.png");  // first in the batch: its output is the signal to kill
  const auto photo = read_image(testing::data_path("samples/astronaut.png")).pixels;
  for (const char* name : {"b.png", "c.png", "d.png"}) {
    write_image(in / name, photo.slice(1, 0, 192).slice(2, 0, 256), 8);
  }
  const auto pid_file = dir / "pid";
  const std::string script = std::string(SRKIT_BINARY) + " upscale " + in.string() + " -o " +
                             out.string() + " --model esrgan-slim -q & pid=$!; echo $pid >" +
                             pid_file.string() + "; while [ ! -f " + (out / "a.png").string() +
                             " ] && kill -0 $pid 2>/dev/null; do sleep 0.02; done; " +
                             "kill -9 $pid 2>/dev/null; wait $pid";
  std::system(("bash -c '" + script + "'").c_str());
  std::ifstream pid_in(pid_file);
  long killed = 0;
  pid_in >> killed;
  ASSERT_GT(killed, 0);

  std::map<std::string, std::string> written;  // what the killed run left under final names
  for (const auto& entry : std::filesystem::directory_iterator(out)) {
    const auto name = entry.path().filename().string();
    if (name[0] == '.') continue;                        // its temporary files
    const auto image = read_image(entry.path()).pixels;  // complete: it decodes
    EXPECT_EQ(image.size(2), name == "a.png" ? 256 : 1024) << name;
    written[name] = testing::slurp(entry.path());
  }
  EXPECT_TRUE(written.count("a.png"));
  // A temporary file of a process that no longer runs, as a kill mid-write leaves one.
  const auto stale = out / (".d.srkit-tmp-" + std::to_string(killed) + "-0.png");
  std::ofstream(stale) << "half an image";

  const auto rerun = run_srkit("upscale " + in.string() + " -o " + out.string() +
                               " --model esrgan-slim --skip-existing --json -q");
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  const auto report = nlohmann::json::parse(rerun.out);
  EXPECT_EQ(report["skipped"].get<size_t>(), written.size());
  for (const char* name : {"a.png", "b.png", "c.png", "d.png"}) {
    EXPECT_TRUE(std::filesystem::exists(out / name)) << name;
    if (written.count(name)) {
      EXPECT_EQ(testing::slurp(out / name), written[name]) << name;
    }
  }
  for (const auto& entry : std::filesystem::directory_iterator(out)) {
    EXPECT_NE(entry.path().filename().string()[0], '.') << entry.path() << " was left";
  }
  EXPECT_EQ(run_srkit("upscale " + in.string() + " -o " + out.string() +
                      " --skip-existing --overwrite -q")
                .exit_code,
            2);
}

// A PNG of 14 KB declaring 100000x100000 pixels (a decompression bomb: its rows would inflate from
// almost nothing) is refused from its header, naming the file and --max-pixels; so is any image
// above a lower --max-pixels, streamed (upscale) or decoded whole (degrade, a JPEG).
TEST(Cli, ImagesDeclaringMorePixelsThanTheLimitAreRefused) {
  TempDir dir;
  const auto chunk = [](const std::string& type, const std::string& data) {
    std::string out(4, '\0');
    for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(data.size() >> (24 - 8 * i));
    const std::string body = type + data;
    const auto crc = crc32(0, reinterpret_cast<const Bytef*>(body.data()), body.size());
    out += body;
    for (int i = 0; i < 4; ++i) out += static_cast<char>(crc >> (24 - 8 * i));
    return out;
  };
  std::string ihdr = {0,
                      1,
                      static_cast<char>(0x86),
                      static_cast<char>(0xA0),  // width 100000
                      0,
                      1,
                      static_cast<char>(0x86),
                      static_cast<char>(0xA0),  // height 100000
                      8,
                      2,
                      0,
                      0,
                      0};  // 8-bit RGB
  std::string rows(100 * (1 + 3 * 100000), '\0');
  uLongf size = compressBound(rows.size());
  std::string idat(size, '\0');
  compress2(reinterpret_cast<Bytef*>(idat.data()), &size,
            reinterpret_cast<const Bytef*>(rows.data()), rows.size(), 9);
  idat.resize(size);
  std::ofstream(dir / "bomb.png", std::ios::binary) << std::string("\x89PNG\r\n\x1a\n", 8) +
                                                           chunk("IHDR", ihdr) +
                                                           chunk("IDAT", idat) + chunk("IEND", "");
  auto result = run_srkit("upscale " + (dir / "bomb.png").string() + " -o " +
                          (dir / "up.png").string() + " -q");
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_TRUE(contains(result.err, "bomb.png: declares a 100000x100000 image")) << result.err;
  EXPECT_TRUE(contains(result.err, "--max-pixels")) << result.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "up.png"));

  const auto photo = small_photo(dir);  // 64x48
  write_image(dir / "small.jpg", read_image(photo).pixels, 8);
  for (const std::string& command :
       {"upscale " + photo.string() + " -o " + (dir / "a.png").string(),
        "degrade " + photo.string() + " -o " + (dir / "b.png").string(),
        "degrade " + (dir / "small.jpg").string() + " -o " + (dir / "c.png").string()}) {
    result = run_srkit(command + " --max-pixels 3000 -q");
    EXPECT_EQ(result.exit_code, 1) << command << ": " << result.err;
    EXPECT_TRUE(contains(result.err, "declares a 64x48 image")) << command << ": " << result.err;
  }
  EXPECT_EQ(run_srkit("upscale " + photo.string() + " -o " + (dir / "d.png").string() +
                      " --max-pixels 3072 -q")
                .exit_code,
            0);
}

// A folder whose name looks like an image is named as what it is.
TEST(Cli, AFolderGivenAsAnImageIsNamed) {
  TempDir dir;
  std::filesystem::create_directories(dir / "photo.png");
  const auto result =
      run_srkit("upscale " + (dir / "photo.png").string() + " -o " + (dir / "o.png").string());
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_TRUE(contains(result.err, (dir / "photo.png").string() + " is a folder, not an image"))
      << result.err;
}

TEST(Cli, MissingInputIsReportedWithItsName) {
  TempDir out;
  const auto result = run_srkit("upscale /nonexistent/photo.png -o " + (out / "x.png").string());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(contains(result.err, "/nonexistent/photo.png: no such file")) << result.err;
}

TEST(Cli, ExistingOutputNeedsOverwrite) {
  TempDir dir;
  const auto photo = small_photo(dir);
  const auto target = (dir / "up.png").string();
  ASSERT_EQ(run_srkit("upscale " + photo.string() + " -o " + target + " -q").exit_code, 0);
  const auto again = run_srkit("upscale " + photo.string() + " -o " + target + " -q");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_TRUE(contains(again.err, "--overwrite")) << again.err;
  EXPECT_EQ(run_srkit("upscale " + photo.string() + " -o " + target + " -q --overwrite").exit_code,
            0);
  // The input is never the output, even with --overwrite.
  const auto self =
      run_srkit("upscale " + photo.string() + " -o " + photo.string() + " --overwrite");
  EXPECT_EQ(self.exit_code, 1);
  EXPECT_TRUE(contains(self.err, "never overwrites inputs")) << self.err;
}

TEST(Cli, OutputFolderThatCannotBeCreatedIsAUsageError) {
  TempDir dir;
  const auto photo = small_photo(dir);
  small_photo(dir, "second.png");
  // A regular file where the output folder's parent should be: no user can write there.
  const auto result =
      run_srkit("upscale " + dir.path().string() + " -o " + photo.string() + "/out");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_TRUE(contains(result.err, "cannot create the output folder")) << result.err;
}

TEST(Cli, UnknownModelListsTheKnownOnes) {
  TempDir dir;
  const auto result = run_srkit("upscale " + small_photo(dir).string() + " -o " +
                                (dir / "o.png").string() + " --model esrgan-huge");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_TRUE(contains(result.err, "unknown model")) << result.err;
  EXPECT_TRUE(contains(result.err, "esrgan-medium")) << result.err;
}

TEST(Cli, ScaleNotOfferedIsResizedWithANoteOrRefusedByBench) {
  TempDir dir;
  const auto result = run_srkit("upscale " + small_photo(dir).string() + " -o " +
                                (dir / "o.png").string() + " --model default --scale 3 --json");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.err, "has no x3 weights")) << result.err;
  const auto report = nlohmann::json::parse(result.out);
  EXPECT_TRUE(report["images"][0]["resized"].get<bool>());
  EXPECT_EQ(report["images"][0]["out_width"], 192);
  const auto bench = run_srkit("bench --model default --scale 3");
  EXPECT_EQ(bench.exit_code, 2);
  EXPECT_TRUE(contains(bench.err, "offered: 2")) << bench.err;
}

TEST(Cli, CorruptOrMissingWeightsSayRunSetup) {
  TempDir models, dir;
  std::filesystem::copy(testing::model_path("MANIFEST.sha256"), models / "MANIFEST.sha256");
  const auto photo = small_photo(dir).string();
  const auto env = "SRKIT_MODELS=" + models.path().string();
  auto missing = run_srkit("upscale " + photo + " -o " + (dir / "o.png").string(), env);
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(contains(missing.err, "not installed")) << missing.err;
  EXPECT_TRUE(contains(missing.err, "scripts/setup.sh")) << missing.err;

  std::filesystem::copy(testing::model_path("realesrgan-x4fast"), models / "realesrgan-x4fast",
                        std::filesystem::copy_options::recursive);
  const auto shard = models / "realesrgan-x4fast/x4/model.bin";
  std::fstream(shard, std::ios::in | std::ios::out | std::ios::binary).write("\x42", 1);
  auto corrupt = run_srkit("upscale " + photo + " -o " + (dir / "o.png").string(), env);
  EXPECT_EQ(corrupt.exit_code, 2);
  EXPECT_TRUE(contains(corrupt.err, "checksum mismatch")) << corrupt.err;
  EXPECT_TRUE(contains(corrupt.err, "scripts/setup.sh")) << corrupt.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "o.png"));
}

// A .srkit file of srkit's versions 1-2 (a LibTorch archive) is refused with the command that
// upgrades it; the upgraded file runs.
TEST(Cli, AnOlderModelFileIsRefusedWithTheUpgradeThatRunsIt) {
  TempDir dir;
  const auto photo = small_photo(dir).string();
  auto network =
      make_network({{"architecture", "compact"}, {"scale", 2}, {"features", 8}, {"convs", 1}});
  torch::serialize::OutputArchive archive, weights;
  archive.write("srkit", c10::IValue(nlohmann::json({{"format", "srkit-model"},
                                                     {"version", 2},
                                                     {"network", network->config()}})
                                         .dump()));
  network->save(weights);
  archive.write("weights", weights);
  const auto old_file = dir / "old.srkit", new_file = dir / "new.srkit";
  archive.save_to(old_file.string());
  const auto out = (dir / "out.png").string();

  const auto refused =
      run_srkit("upscale " + photo + " -o " + out + " --model " + old_file.string());
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_TRUE(contains(refused.err, "srkit models --upgrade " + old_file.string())) << refused.err;
  EXPECT_FALSE(std::filesystem::exists(out));

  const auto upgrade = run_srkit("models --upgrade " + old_file.string() + " --output " +
                                 new_file.string() + " --json");
  ASSERT_EQ(upgrade.exit_code, 0) << upgrade.err;
  EXPECT_EQ(nlohmann::json::parse(upgrade.out)["version"], 3);
  const auto upscaled =
      run_srkit("upscale " + photo + " -o " + out + " --model " + new_file.string() + " -q");
  ASSERT_EQ(upscaled.exit_code, 0) << upscaled.err;
  EXPECT_EQ(read_image(out).pixels.sizes(), torch::IntArrayRef({3, 96, 128}));
}

TEST(Cli, AParamFileWithAMissingOrTruncatedBinNamesTheBin) {
  // An ncnn model given by path (--model x.param) has no manifest: the .bin is checked as read.
  TempDir dir;
  const auto photo = small_photo(dir).string();
  const auto param = dir / "x.param";
  std::filesystem::copy(testing::model_path("realesrgan-x4fast/x4/model.param"), param);
  const auto out = (dir / "o.png").string();
  auto missing = run_srkit("upscale " + photo + " -o " + out + " --model " + param.string());
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(contains(missing.err, (dir / "x.bin").string())) << missing.err;
  EXPECT_TRUE(contains(missing.err, "next to the .param")) << missing.err;

  std::ifstream full(testing::model_path("realesrgan-x4fast/x4/model.bin"), std::ios::binary);
  std::string head(300, '\0');
  full.read(head.data(), 300);
  std::ofstream(dir / "x.bin", std::ios::binary) << head;
  auto truncated = run_srkit("upscale " + photo + " -o " + out + " --model " + param.string());
  EXPECT_EQ(truncated.exit_code, 2);
  EXPECT_TRUE(contains(truncated.err, "truncated")) << truncated.err;
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(Cli, SixteenBitInputGivesSixteenBitOutput) {
  TempDir dir;
  const auto photo = read_image(testing::data_path("samples/coffee.png")).pixels;
  write_image(dir / "deep.png", photo.slice(1, 0, 40).slice(2, 0, 40), 16);
  const auto result = run_srkit("upscale " + (dir / "deep.png").string() + " -o " +
                                (dir / "deep_x2.png").string() + " -q");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(read_image(dir / "deep_x2.png").bit_depth, 16);
}

// srkit upscale reads a PNG or TIFF input and writes its output a band of rows at a time; the
// file holds what the library's whole-image upscale() returns, in every streamed format, and a
// format read whole (BMP) gives the same.
TEST(Cli, StreamedOutputsHoldTheWholeImageUpscale) {
  TempDir dir;
  const auto photo = small_photo(dir);
  const auto pixels = read_image(photo).pixels;
  write_image(dir / "small.tif", pixels, 8);
  write_image(dir / "small.bmp", pixels, 8);
  auto model = load_model({"realesrgan-x4fast", 4});
  model->prepare(torch::kCPU, prefer_channels_last(torch::kCPU));  // as srkit upscale runs it
  const auto expected = stored_values(upscale(*model, pixels, {}), 8);
  for (const char* input : {"small.png", "small.tif", "small.bmp"}) {
    for (const char* ext : {".png", ".tif"}) {
      const auto name = std::string("from_") + input + ext;
      SCOPED_TRACE(name);
      const auto result = run_srkit("upscale " + (dir / input).string() + " -o " +
                                    (dir / name).string() + " --model realesrgan-x4fast --json -q");
      ASSERT_EQ(result.exit_code, 0) << result.err;
      EXPECT_TRUE(torch::equal(read_image(dir / name).pixels, expected));
      const auto record = nlohmann::json::parse(result.out)["images"][0];
      EXPECT_EQ(record["input_streamed"], std::string(input) != "small.bmp") << record.dump();
    }
  }
}

// A format encoded whole (JPEG) must fit --max-memory; a refusal comes before the work, names the
// flag and the formats that stream, and leaves no file.
TEST(Cli, AJpegLargerThanMaxMemoryIsRefusedNamingTheFlag) {
  TempDir dir;
  const auto photo = small_photo(dir);  // 64x48 -> 256x192 RGB: 147 KB of samples
  const auto target = dir / "big.jpg";
  const auto result =
      run_srkit("upscale " + photo.string() + " -o " + target.string() + " --max-memory 100K");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_TRUE(contains(result.err, "--max-memory")) << result.err;
  EXPECT_TRUE(contains(result.err, ".png or .tif")) << result.err;
  EXPECT_FALSE(std::filesystem::exists(target));
  // 1 MB holds the JPEG's samples but not the runtime: the run goes on, with the smallest tiles,
  // and says that the budget was passed.
  const auto fits =
      run_srkit("upscale " + photo.string() + " -o " + target.string() + " --max-memory 1M");
  EXPECT_EQ(fits.exit_code, 0) << fits.err;
  EXPECT_TRUE(std::filesystem::exists(target));
  EXPECT_TRUE(contains(fits.err, "note: --max-memory 1 MB leaves less than")) << fits.err;
}

TEST(Cli, EvalOfIdenticalImagesIsInfiniteAndWritesCsv) {
  TempDir dir;
  const auto photo = small_photo(dir).string();
  const auto csv = (dir / "m.csv").string();
  const auto result = run_srkit("eval " + photo + " " + photo + " --json --csv " + csv);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto report = nlohmann::json::parse(result.out);
  EXPECT_TRUE(report["images"][0]["psnr"].is_null());
  EXPECT_DOUBLE_EQ(report["images"][0]["ssim"].get<double>(), 1.0);
  std::ifstream in(csv);
  std::string header, row;
  std::getline(in, header);
  std::getline(in, row);
  EXPECT_EQ(header, "test,reference,psnr,ssim,lsd");
  EXPECT_TRUE(contains(row, ",inf,")) << row;
}

// An RGBA photo's upscale or degradation is RGB: eval compares its colours with the reference's.
TEST(Cli, EvalComparesAnRgbResultWithTheColoursOfAnRgbaReference) {
  TempDir dir;
  const auto rgb = read_image(testing::data_path("samples/chelsea.png")).pixels.slice(1, 0, 64);
  const auto rgba = torch::cat({rgb, torch::ones({1, rgb.size(1), rgb.size(2)})});
  write_image(dir / "reference.png", rgba, 8);
  write_image(dir / "result.png", rgb, 8);
  const auto result = run_srkit("eval " + (dir / "result.png").string() + " " +
                                (dir / "reference.png").string() + " --json -q");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(nlohmann::json::parse(result.out)["images"][0]["psnr"].is_null());  // identical
  write_image(dir / "gray.png", rgb.slice(0, 0, 1), 8);
  EXPECT_EQ(run_srkit("eval " + (dir / "gray.png").string() + " " +
                      (dir / "reference.png").string() + " -q")
                .exit_code,
            1);  // gray against colour stays an input error
}

TEST(Cli, DegradeNeverOverwritesItsInput) {
  TempDir dir;
  const auto photo = small_photo(dir);
  const auto before = read_image(photo).pixels;
  const auto result =
      run_srkit("degrade " + photo.string() + " -o " + photo.string() + " --scale 2 --overwrite");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(contains(result.err, "never overwrites inputs")) << result.err;
  EXPECT_TRUE(torch::equal(read_image(photo).pixels, before));
}

TEST(Cli, CtrlCStopsAtTheNextTileAndLeavesNoOutput) {
  TempDir dir;
  const auto out = dir / "big.png";
  // About a thousand small tiles: srkit is still working when the interrupt arrives. The script
  // waits until srkit has installed its SIGINT handler (bit 2 of SigCgt), so a slow start on a
  // loaded machine cannot make the signal arrive first (bash starts background jobs ignoring it).
  const std::string command =
      std::string("bash -c '") + SRKIT_BINARY + " upscale " +
      testing::data_path("samples/astronaut.png").string() + " -o " + out.string() +
      " --model esrgan-medium --scale 4 --tile 16 -q 2>/dev/null & pid=$!; "
      "for i in $(seq 200); do m=$(awk \"/SigCgt/{print \\$2}\" /proc/$pid/status 2>/dev/null); "
      "[ -n \"$m\" ] && [ $(( 0x$m & 2 )) -ne 0 ] && break; sleep 0.05; done; "
      "sleep 0.5; kill -INT $pid; wait $pid'";
  const int status = std::system(command.c_str());
  EXPECT_EQ(WEXITSTATUS(status), 130) << "the shell script or srkit failed otherwise";
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << "a temporary file was left behind";
}

TEST(Cli, DegradeMakesBenchmarkLowResolutionInputs) {
  TempDir dir;
  const auto lr = (dir / "lr.png").string();
  const auto result = run_srkit("degrade " + testing::data_path("samples/butterfly.png").string() +
                                " -o " + lr + " --scale 4 -q");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(read_image(lr).pixels.sizes(), torch::IntArrayRef({3, 64, 64}));

  // The real-world pipeline keeps a gray photo gray (camera.png is 8-bit gray, 512x512).
  const auto gray = (dir / "gray_lr.png").string();
  const auto real = run_srkit("degrade " + testing::data_path("samples/camera.png").string() +
                              " -o " + gray + " --scale 4 --pipeline realesrgan -q");
  ASSERT_EQ(real.exit_code, 0) << real.err;
  EXPECT_EQ(read_image(gray).pixels.sizes(), torch::IntArrayRef({1, 128, 128}));
}

}  // namespace
}  // namespace srkit
