// A batch of image files through one piece of work (upscaling, degrading, a calibrated upscale
// with its mask): the inputs expanded (folders to their images), an output planned for each (the
// file itself for one input, else <folder>/<stem><extension>; missing folders created; an input
// is never overwritten, an existing file only with `overwrite`), each file read, worked and
// written atomically. A file that fails (unreadable, too small, a model error) is recorded and
// the batch goes on; usage and setup errors and cancellation stop it. The library never prints:
// progress and results reach the caller through BatchEvents.
//
//   srkit::BatchOptions options;
//   options.output = "upscaled/";
//   auto report = srkit::run_batch(srkit::expand_inputs({"photos/"}), options,
//       [&](const srkit::Image& image, size_t, const srkit::ProgressFn&) {
//         return srkit::FileResult{upscaler.run(image.pixels)};
//       });
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include "srkit/core/error.h"
#include "srkit/core/progress.h"
#include "srkit/engine/tile_blend.h"
#include "srkit/io/image_io.h"
#include "srkit/io/image_writer.h"

namespace srkit {

// Where a RowProducer hands its rows: the main output's, and by name those of the extra outputs
// that FileResult::row_extras lists (8-bit PNGs: values in [0,1]).
struct RowSinks {
  RowSink main;
  std::map<std::string, RowSink> extras;
};

// Makes the main output (and any extras of FileResult::row_extras) a band of rows at a time into
// `sinks` (top to bottom, every row once) and returns facts for the file's record. `bit_depth` is
// what the main file stores (8, 16, or 32 = float): its rows may be values in [0,1] or, smaller,
// those samples already (file_samples, image_io.h). `held_bytes`: what the writers hold meanwhile
// (every sample of a format encoded whole), for the work's memory budget.
using RowProducer =
    std::function<nlohmann::json(const RowSinks& sinks, int bit_depth, int64_t held_bytes)>;

// What the work made of one image.
struct FileResult {
  torch::Tensor image;  // [C,H,W] in [0,1]: the main output
  // Or, for outputs too large to hold: `rows` makes the main output of size `shape` into a file
  // the batch opens, once the work returns (PNG and TIFF are encoded as the rows come, other
  // formats are held as 8/16-bit samples, within BatchOptions::max_memory).
  RowProducer rows;
  ImageShape shape;
  int bit_depth = 0;                            // of the main output; 0 = the input's
  std::map<std::string, torch::Tensor> extras;  // by name ("mask"): 8-bit PNGs, see BatchOptions
  // Extras `rows` makes as rows too, by name: their channels (of the same size as the main output).
  std::map<std::string, int64_t> row_extras;
  nlohmann::json facts = nlohmann::json::object();  // merged into the file's record, last
};

// `index` is the file's place in the batch (a per-file seed); `progress` reports the work's own
// units (tiles, samples) and answers false to cancel: the work then throws an Error of kind
// kCancelled.
using FileWork =
    std::function<FileResult(const Image& image, size_t index, const ProgressFn& progress)>;

struct BatchOptions {
  std::filesystem::path output;  // a file (one input) or a folder
  std::string extension;         // of outputs in a folder, with the dot; empty = the input's
  std::map<std::string, std::filesystem::path> extras;  // extra output by name: file or folder
  // Joins the stem of every output name: photo.png -> photo<suffix>.png (srkit upscale --samples
  // names each sample's files by its seed, "_seed3").
  std::string suffix;
  bool overwrite = false;
  // An input whose outputs (the main one and every extra) all exist already is skipped, not
  // refused: a rerun finishes a batch that was interrupted. Exclusive with `overwrite`.
  bool skip_existing = false;
  // Bytes a main output made by FileResult::rows may hold in memory when its format cannot be
  // written as the rows come (JPEG, WebP): more is an output Error before the work; 0 = no limit.
  int64_t max_memory = 0;
  // How the inputs are held: kCompact when the work takes 8-bit images as uint8 samples,
  // kStreamed when it also reads Image::rows (a PNG or TIFF opened, not decoded).
  PixelStorage storage = PixelStorage::kFloat;
};

struct BatchEvents {
  // Progress of file `index` of `count` (done/total of its work); false cancels the batch.
  std::function<bool(size_t index, size_t count, const std::filesystem::path& input, int64_t done,
                     int64_t total)>
      progress;
  // After each file, with its record: {"input", "output", "ok", "seconds", "seconds_reading",
  // sizes, bit depths, for an output made as rows the writer's "seconds_converting",
  // "seconds_encoding", "cpu_seconds_encoding", "seconds_waiting_for_encoding" and
  // "seconds_committing" (ImageWriter::Timing), and the work's facts}, or {"input", "output",
  // "ok": false, "error"} and the failure. The caller may add to the record (the report keeps
  // what it leaves there).
  std::function<void(nlohmann::json& record, const Error* failure)> file_done;
};

struct BatchReport {
  nlohmann::json files = nlohmann::json::array();  // one record per input, in order
  int failed = 0;
  int skipped = 0;  // BatchOptions::skip_existing: records {"input", "output", "ok", "skipped"}
};

// Runs `work` over `files`. A usage Error when there are none, when several inputs are given
// one output file, or when an output folder cannot be created. First removes the temporary files
// a killed srkit left in the output folders (remove_stale_temporaries, io/atomic_file.h).
BatchReport run_batch(const std::vector<std::filesystem::path>& files, const BatchOptions& options,
                      const FileWork& work, const BatchEvents& events = {});

// Expands the inputs (files, or folders of images, not recursive) into a sorted list of files. A
// folder contributes its files that `accept` (by default those with image extensions); a folder
// with none is a usage Error naming it.
std::vector<std::filesystem::path> expand_inputs(
    const std::vector<std::string>& inputs,
    const std::function<bool(const std::filesystem::path&)>& accept = {});

// Whether `output` names one output file (a single input and an image extension) rather than a
// folder; a folder is created. A usage Error when it is a file for several inputs or the folder
// cannot be created.
bool prepare_output(const std::vector<std::filesystem::path>& inputs,
                    const std::filesystem::path& output);

// An output Error when `destination` is the input itself (srkit never overwrites inputs) or
// already exists and `overwrite` is false. Creates the destination's folder when it is missing.
// Called before the work, so nothing is computed in vain.
void check_destination(const std::filesystem::path& input, const std::filesystem::path& destination,
                       bool overwrite);

}  // namespace srkit
