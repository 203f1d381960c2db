#include "srkit/engine/batch.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <system_error>

#include <torch/torch.h>

#include "srkit/core/clock.h"
#include "srkit/io/atomic_file.h"

namespace srkit {
namespace {

// Where one input's output goes: the file itself for a single input, else
// <folder>/<stem><extension>; `suffix` joins the stem (file.png -> file<suffix>.png).
std::filesystem::path destination_for(const std::filesystem::path& input,
                                      const std::filesystem::path& target, bool target_is_file,
                                      const std::string& extension, const std::string& suffix) {
  if (target_is_file) {
    if (suffix.empty()) return target;
    return target.parent_path() / (target.stem().string() + suffix + target.extension().string());
  }
  return target / (input.stem().string() + suffix + extension);
}

struct PlannedOutputs {
  std::filesystem::path main;
  std::map<std::string, std::filesystem::path> extras;
};

// Whether every output of an input is there already (BatchOptions::skip_existing).
bool all_exist(const PlannedOutputs& outputs) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(outputs.main, error)) return false;
  return std::all_of(outputs.extras.begin(), outputs.extras.end(), [&](const auto& extra) {
    return std::filesystem::is_regular_file(extra.second, error);
  });
}

// The record of a file the work failed on; usage and setup errors and cancellation are not
// per-file failures and go up.
nlohmann::json failure_record(nlohmann::json record, const Error& error) {
  record.update({{"ok", false}, {"error", error.what()}});
  return record;
}

// An output Error when a format encoded whole (JPEG, WebP) would hold more than `limit` bytes.
void check_held_memory(const std::filesystem::path& path, const ImageShape& shape, int64_t limit) {
  const int64_t bytes = writer_memory_bytes(path, shape);
  if (limit <= 0 || streams_rows(path) || bytes <= limit) return;
  const auto mb = [](int64_t b) { return std::to_string((b + (1 << 20) - 1) >> 20) + " MB"; };
  throw output_error(path.string(),
                     "is a " + std::to_string(shape.width) + "x" + std::to_string(shape.height) +
                         " image in a format encoded whole: it needs " + mb(bytes) +
                         " of memory, more than {{max_memory}} allows (" + mb(limit) + ")",
                     "write .png or .tif, which are written as they are computed, or raise "
                     "{{max_memory}}");
}

}  // namespace

std::vector<std::filesystem::path> expand_inputs(
    const std::vector<std::string>& inputs,
    const std::function<bool(const std::filesystem::path&)>& accept) {
  std::vector<std::filesystem::path> files;
  for (const auto& input : inputs) {
    const std::filesystem::path path(input);
    if (std::filesystem::is_directory(path)) {
      std::vector<std::filesystem::path> found;
      for (const auto& entry : std::filesystem::directory_iterator(path)) {
        const bool wanted = accept ? accept(entry.path()) : is_image_path(entry.path());
        if (entry.is_regular_file() && wanted) found.push_back(entry.path());
      }
      if (found.empty()) {
        throw usage_error(
            input +
            (is_image_path(path) ? " is a folder, not an image file"
                                 : " is a folder with no "
                                   "files to read") +
            (accept ? "" : " (srkit reads .png, .jpg, .tif, .webp, .bmp and .pnm files)"));
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(path);  // a missing file is reported when it is read, with the others
    }
  }
  return files;
}

bool prepare_output(const std::vector<std::filesystem::path>& inputs,
                    const std::filesystem::path& output) {
  const bool names_a_file = is_image_path(output) && !std::filesystem::is_directory(output);
  if (names_a_file && inputs.size() == 1) return true;
  if (names_a_file) {
    throw usage_error("{{output}} " + output.string() +
                      ": several inputs need an output folder, not a file");
  }
  std::error_code error;
  std::filesystem::create_directories(output, error);
  if (error) {
    throw usage_error(output.string() + ": cannot create the output folder: " + error.message() +
                      " (choose a writable place)");
  }
  return false;
}

void check_destination(const std::filesystem::path& input, const std::filesystem::path& destination,
                       bool overwrite) {
  std::error_code error;
  if (std::filesystem::weakly_canonical(input, error) ==
      std::filesystem::weakly_canonical(destination, error)) {
    throw output_error(destination.string(), "is the input itself; srkit never overwrites inputs",
                       "choose another output");
  }
  if (!overwrite && std::filesystem::exists(destination, error)) {
    throw output_error(destination.string(), "already exists", "pass {{overwrite}} to replace it");
  }
  const auto folder = destination.parent_path();
  if (!folder.empty() && !std::filesystem::is_directory(folder, error)) {
    std::filesystem::create_directories(folder, error);
    if (error) {
      throw output_error(destination.string(), "its folder cannot be created: " + error.message(),
                         "choose a writable place");
    }
  }
}

BatchReport run_batch(const std::vector<std::filesystem::path>& files, const BatchOptions& options,
                      const FileWork& work, const BatchEvents& events) {
  if (files.empty()) throw usage_error("no image files found in the inputs");
  if (options.skip_existing && options.overwrite) {
    throw usage_error("{{skip_existing}} and {{overwrite}} exclude each other: choose one");
  }
  const bool output_is_file = prepare_output(files, options.output);
  std::map<std::string, bool> extra_is_file;
  for (const auto& [name, target] : options.extras) {
    extra_is_file[name] = prepare_output(files, target);
  }
  const auto folder_of = [](const std::filesystem::path& target, bool is_file) {
    return is_file ? target.parent_path() : target;
  };
  remove_stale_temporaries(folder_of(options.output, output_is_file));
  for (const auto& [name, target] : options.extras) {
    remove_stale_temporaries(folder_of(target, extra_is_file[name]));
  }

  BatchReport report;
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& input = files[i];
    const auto extension =
        options.extension.empty() ? input.extension().string() : options.extension;
    PlannedOutputs outputs;
    outputs.main =
        destination_for(input, options.output, output_is_file, extension, options.suffix);
    for (const auto& [name, target] : options.extras) {
      outputs.extras[name] =
          destination_for(input, target, extra_is_file[name], ".png", options.suffix);
    }
    nlohmann::json record = {{"input", input.string()}, {"output", outputs.main.string()}};
    if (options.skip_existing && all_exist(outputs)) {
      record.update({{"ok", true}, {"skipped", true}});
      ++report.skipped;
      if (events.file_done) events.file_done(record, nullptr);
      report.files.push_back(record);
      continue;
    }
    const auto start = SteadyClock::now();
    const Error* failure = nullptr;
    std::optional<Error> caught;
    try {
      check_destination(input, outputs.main, options.overwrite);
      for (const auto& [name, path] : outputs.extras) {
        check_destination(input, path, options.overwrite);
      }
      const auto image = read_image(input, options.storage);
      record["seconds_reading"] = seconds_since(start);
      const ProgressFn progress = [&](int64_t done, int64_t total) {
        return !events.progress || events.progress(i, files.size(), input, done, total);
      };
      FileResult result;
      try {
        result = work(image, i, progress);
      } catch (const c10::Error& e) {
        throw input_error(input.string(), e.what_without_backtrace());
      }
      for (const auto& [name, path] : outputs.extras) {
        const auto extra = result.extras.find(name);
        if (extra == result.extras.end()) continue;
        write_image(path, extra->second, 8, {options.overwrite});
        record[name] = path.string();
      }
      const int bit_depth = result.bit_depth > 0 ? result.bit_depth : image.bit_depth;
      int bits = 0;
      int64_t out_width = 0, out_height = 0;
      if (result.rows) {
        auto shape = result.shape;
        shape.bit_depth = bit_depth;
        check_held_memory(outputs.main, shape, options.max_memory);
        ImageWriter writer(outputs.main, shape, {options.overwrite});
        RowSinks sinks;
        sinks.main = [&](const torch::Tensor& rows, int64_t) { writer.write_rows(rows); };
        int64_t held = writer_memory_bytes(outputs.main, shape);
        // The extras' writers: a failure before the commits leaves none of the files.
        std::map<std::string, std::unique_ptr<ImageWriter>> extra_writers;
        for (const auto& [name, channels] : result.row_extras) {
          const auto planned = outputs.extras.find(name);
          if (planned == outputs.extras.end()) continue;
          const ImageShape extra_shape{shape.height, shape.width, channels, 8};
          auto& extra = extra_writers[name];
          extra = std::make_unique<ImageWriter>(planned->second, extra_shape,
                                                WriteOptions{options.overwrite});
          sinks.extras[name] = [&extra](const torch::Tensor& rows, int64_t) {
            extra->write_rows(rows);
          };
          held += writer_memory_bytes(planned->second, extra_shape);
        }
        nlohmann::json facts;
        try {
          facts = result.rows(sinks, writer.bit_depth(), held);
        } catch (const c10::Error& e) {
          throw input_error(input.string(), e.what_without_backtrace());
        }
        for (auto& [name, extra] : extra_writers) {  // the main output last, as below
          extra->commit();
          record[name] = outputs.extras[name].string();
        }
        writer.commit();
        result.facts.update(facts);
        const auto& timing = writer.timing();
        record.update({{"seconds_converting", timing.converting},
                       {"seconds_encoding", timing.encoding},
                       {"cpu_seconds_encoding", timing.encoding_cpu},
                       {"seconds_waiting_for_encoding", timing.waiting},
                       {"seconds_committing", timing.committing}});
        bits = writer.bit_depth();
        out_width = shape.width;
        out_height = shape.height;
      } else {
        bits = write_image(outputs.main, result.image, bit_depth, {options.overwrite});
        out_width = result.image.size(2);
        out_height = result.image.size(1);
      }
      const auto in = image_shape(image);
      record.update({{"ok", true},
                     {"width", in.width},
                     {"height", in.height},
                     {"channels", in.channels},
                     {"out_width", out_width},
                     {"out_height", out_height},
                     {"bit_depth_in", image.bit_depth},
                     {"bit_depth_out", bits},
                     {"seconds", seconds_since(start)}});
      record.update(result.facts);
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::kCancelled || e.kind() == ErrorKind::kUsage ||
          e.kind() == ErrorKind::kSetup) {
        throw;
      }
      ++report.failed;
      caught.emplace(e);
      failure = &*caught;
      record = failure_record(record, e);
    }
    if (events.file_done) events.file_done(record, failure);
    report.files.push_back(record);
  }
  return report;
}

}  // namespace srkit
