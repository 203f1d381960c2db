// The models srkit knows by name, where their files live, and how to load one.
//
//   auto model = srkit::load_model("esrgan-medium", 4);   // verified against the manifest
//   srkit::ModelCard card = srkit::describe_model("esrgan-thick", 4);  // installed or not
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "srkit/core/resource_paths.h"  // models_root()
#include "srkit/models/model.h"

namespace srkit {

struct ModelEntry {
  std::string name;          // what users type: "default", "esrgan-slim", ...
  std::string package;       // npm package the weights come from, with version
  std::string architecture;  // human description
  std::vector<int64_t> scales;
  double value_range;  // 255 for the RDN graphs, 1 for RRDN (as the packages define them)
  std::string licence;
  bool builtin = false;  // computed by srkit itself, nothing to install
  // How the weights are stored: a TF.js layers-model (model.json + shards) or ncnn files
  // (model.param + model.bin), under models/<name>/x<scale>/.
  enum class Format { kTfjs, kNcnn } format = Format::kTfjs;
  std::string family;  // the program whose conventions it follows: "real-cugan", ...
};

const std::vector<ModelEntry>& known_models();

// Throws a usage Error that lists the known names when `name` is not one of them.
const ModelEntry& find_model(const std::string& name);

// models/<name>/x<scale>/model.json, or model.param for ncnn models
std::filesystem::path model_json_path(const ModelEntry& entry, int64_t scale);
bool is_installed(const ModelEntry& entry, int64_t scale);

// The card of a registered model; graph-derived fields are filled only when it is installed.
ModelCard describe_model(const std::string& name, int64_t scale);

// The native scale srkit runs to reach `wanted`: the wanted one if offered, else the smallest
// offered scale above it (the result is then downscaled), else the largest offered one.
int64_t choose_native_scale(const std::vector<int64_t>& offered, double wanted);

struct ModelRequest {
  std::string name_or_path;  // a registered name, a model.json (or its folder), an ncnn .param
  int64_t scale = 0;         // native scale; 0 = the model's only scale
  double value_range = 1.0;  // for models given by path: the range their weights expect
};

// Loads a registered model after checking its files against models/MANIFEST.sha256, or a
// model.json given by path. Errors say what is wrong and how to fix it (run scripts/setup.sh,
// pick a listed name or an offered scale).
std::unique_ptr<Model> load_model(const ModelRequest& request);

// Opens a srkit model file (.srkit) once, as the Model its architecture makes: a single-image
// network (rdn, rrdn, compact), a guided one (magnet) or a flow model (flow_unet). Setup Errors
// name the file: missing, damaged, not a srkit model, of a newer version or an unknown
// architecture.
std::unique_ptr<Model> open_model_file(const std::filesystem::path& path);

// Rewrites the model file `from` in the current format as `to` (atomically): the way to run a
// LibTorch archive of versions 1-2, which open_model_file refuses (model_archive.h says why).
// Reading `from` trusts it: LibTorch's reader of old archives can be crashed by a hostile file.
// A usage Error when `to` exists; errors naming `from` as open_model_file's.
void upgrade_model_file(const std::filesystem::path& from, const std::filesystem::path& to);

// Whether a request names a file (a model.json, its folder, a .srkit file) rather than a
// registered model; such a model has the one scale of its file.
bool is_model_path(const std::string& name_or_path);

}  // namespace srkit
