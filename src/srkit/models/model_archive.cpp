#include "srkit/models/model_archive.h"

#include <algorithm>
#include <fstream>
#include <set>

#include <torch/torch.h>

#include "srkit/io/numpy_file.h"

namespace srkit {
namespace {

constexpr const char* kFormat = "srkit-model";
constexpr const char* kGuidedFormatV1 = "srkit-guided-model";  // guided models before version 2
constexpr const char* kDescriptionMember = "srkit.json";
// A description is a few kilobytes (a config and a training summary).
constexpr uint64_t kMaxDescriptionBytes = uint64_t{1} << 20;
// An .npy header as NumPy writes it (10 fixed bytes and a padded dict literal of at most
// 10,000 bytes, the limit NumPy and parse_npy keep).
constexpr uint64_t kMaxNpyHeaderBytes = 10 + 10000;

// Whether the zip archive holds a LibTorch archive (torch::serialize, torch.jit.save): its
// records sit in one folder, "<name>/data.pkl" beside "<name>/version".
bool is_libtorch_archive(const NpzArchive& zip) {
  for (const auto& member : zip.members()) {
    const auto slash = member.find('/');
    if (slash != std::string::npos && member.substr(slash) == "/data.pkl") return true;
  }
  return false;
}

Error legacy_refused(const std::filesystem::path& path) {
  return setup_error(
      path.string() +
      ": a model file of an older srkit (a LibTorch archive, versions 1-2), which srkit no "
      "longer opens to run: LibTorch's reader of those compiles code stored in the file and a "
      "damaged or hostile one can crash it. If you made this file or trust where it came from, "
      "upgrade it once: srkit models --upgrade " +
      path.string() + " --output NEW.srkit");
}

// The keys srkit reads from a description must have the types it reads them as; anything else
// is said here, once, rather than as a JSON exception wherever the key is read.
void check_description(const std::filesystem::path& path, const nlohmann::json& about) {
  if (about.is_null()) return;  // a LibTorch archive without one: architecture() says so
  const auto refuse = [&](const std::string& problem) {
    return setup_error(path.string() + ": damaged srkit model file (its description " + problem +
                       "); export it again with `srkit train`");
  };
  if (!about.is_object()) throw refuse("is not a JSON object");
  for (const char* key : {"format", "name", "licence"}) {
    if (about.contains(key) && !about[key].is_string())
      throw refuse(std::string(key) + " is not text");
  }
  if (about.contains("version") && !about["version"].is_number_integer()) {
    throw refuse("version is not a whole number");
  }
  if (about.contains("network") && !about["network"].is_object()) {
    throw refuse("network is not a JSON object");
  }
  if (about.contains("tasks")) {
    const auto& tasks = about["tasks"];
    if (!tasks.is_array() || !std::all_of(tasks.begin(), tasks.end(),
                                          [](const nlohmann::json& t) { return t.is_string(); })) {
      throw refuse("tasks is not a list of names");
    }
  }
}

}  // namespace

// A LibTorch archive of versions 1-2: the description as a string "srkit", the weights in a
// nested archive "weights" as torch::nn::Module::save wrote them.
struct ModelArchive::Legacy {
  torch::serialize::InputArchive archive;
};

void save_model_archive(const std::filesystem::path& path, torch::nn::Module& network,
                        const nlohmann::json& description) {
  auto about = description;
  about["format"] = kFormat;
  about["version"] = kModelFileVersion;
  std::vector<std::pair<std::string, torch::Tensor>> weights;
  for (const auto& item : network.named_parameters(/*recurse=*/true)) {
    weights.emplace_back(item.key(), item.value());
  }
  for (const auto& item : network.named_buffers(/*recurse=*/true)) {
    if (!item.value().is_floating_point()) {
      throw std::logic_error("model buffer " + item.key() + " is not floating point");
    }
    weights.emplace_back(item.key(), item.value());
  }
  write_npz(path, weights, {{kDescriptionMember, about.dump(2)}});
}

ModelArchive::ModelArchive(const std::filesystem::path& path, LegacyArchives legacy) : path_(path) {
  if (!std::filesystem::is_regular_file(path)) {
    throw setup_error(path.string() +
                      ": no such model file (give a .srkit file written by `srkit train`)");
  }
  try {
    weights_ = std::make_unique<NpzArchive>(path);
  } catch (const Error&) {
    char magic[4] = {};
    std::ifstream(path, std::ios::binary).read(magic, sizeof magic);
    if (std::string(magic, 4) == std::string("PK\3\4", 4)) {  // a zip that lost its end
      throw setup_error(path.string() +
                        ": damaged srkit model file (its zip directory is "
                        "missing: cut short?); copy or export it again");
    }
    throw setup_error(path.string() +
                      ": not a srkit model file (not a zip archive); give a "
                      ".srkit file written by `srkit train`");
  }
  if (weights_->has_member(kDescriptionMember)) {
    try {
      const auto text = weights_->read_member(kDescriptionMember, kMaxDescriptionBytes);
      description_ = nlohmann::json::parse(text.begin(), text.end());
    } catch (...) {
      throw damaged_model_file(path);
    }
    check_description(path, description_);
    return;
  }
  const bool libtorch = is_libtorch_archive(*weights_);
  weights_.reset();
  if (!libtorch) {
    throw setup_error(path.string() + ": not a srkit model file (no " + kDescriptionMember + ")");
  }
  if (legacy == LegacyArchives::kRefuse) throw legacy_refused(path);
  legacy_ = std::make_unique<Legacy>();
  try {
    legacy_->archive.load_from(path.string());
    c10::IValue text;
    if (legacy_->archive.try_read("srkit", text) && text.isString()) {
      description_ = nlohmann::json::parse(text.toStringRef());
    }
  } catch (...) {
    throw damaged_model_file(path);
  }
  check_description(path, description_);
}

ModelArchive::~ModelArchive() = default;
ModelArchive::ModelArchive(ModelArchive&&) noexcept = default;
ModelArchive& ModelArchive::operator=(ModelArchive&&) noexcept = default;

std::string ModelArchive::architecture() const {
  if (!description_.is_object()) {
    throw setup_error(path_.string() + ": not a srkit model file (no srkit description)");
  }
  const auto format = description_.value("format", std::string());
  if (format == kGuidedFormatV1) return "magnet";
  if (format != kFormat) {
    throw setup_error(path_.string() + ": not a srkit model file (format '" + format + "')");
  }
  const auto version = description_.value("version", 0);
  if (version > kModelFileVersion) {
    throw setup_error(path_.string() + ": written by a newer srkit (model file version " +
                      std::to_string(version) + ", this srkit reads up to " +
                      std::to_string(kModelFileVersion) + "); update srkit or re-export it");
  }
  const auto network = description_.value("network", nlohmann::json::object());
  return network.is_object() ? network.value("architecture", std::string()) : std::string();
}

void ModelArchive::load_weights(torch::nn::Module& module) const {
  if (legacy_) {
    try {
      torch::serialize::InputArchive weights;
      legacy_->archive.read("weights", weights);
      module.load(weights);
    } catch (...) {
      throw damaged_model_file(path_);
    }
    return;
  }
  const auto damaged = [&](const std::string& problem) {
    return setup_error(path_.string() + ": damaged srkit model file (" + problem +
                       "); export it again with `srkit train`");
  };
  torch::NoGradGuard no_grad;
  std::set<std::string> expected = {kDescriptionMember};
  const auto load = [&](const std::string& name, torch::Tensor target) {
    const auto member = name + ".npy";
    expected.insert(member);
    if (!weights_->has_member(member)) throw damaged("no weight " + name);
    // The network's shape bounds what is read: a member declaring more bytes is refused unread.
    const auto limit = static_cast<uint64_t>(target.numel()) * sizeof(float) + kMaxNpyHeaderBytes;
    const auto declared = weights_->member_size(member);
    if (declared > limit) {
      throw damaged("weight " + name + " declares " + std::to_string(declared) +
                    " bytes, more than float32 values of the network's shape " +
                    c10::str(target.sizes()) + " take");
    }
    torch::Tensor stored;
    try {
      stored = parse_npy(weights_->read_member(member, limit), member);
    } catch (const Error& e) {
      throw damaged(e.what());
    }
    if (stored.sizes() != target.sizes()) {
      throw damaged("weight " + name + " has shape " + c10::str(stored.sizes()) +
                    ", the network's is " + c10::str(target.sizes()));
    }
    target.copy_(stored);
  };
  for (const auto& item : module.named_parameters(/*recurse=*/true)) load(item.key(), item.value());
  for (const auto& item : module.named_buffers(/*recurse=*/true)) load(item.key(), item.value());
  for (const auto& member : weights_->members()) {
    if (!expected.count(member))
      throw damaged("member " + member + " is not a weight of the network");
  }
}

Error damaged_model_file(const std::filesystem::path& path) {
  std::string reason;
  try {
    throw;
  } catch (const Error& e) {
    return e;
  } catch (const c10::Error& e) {
    reason = e.what_without_backtrace();
  } catch (const std::exception& e) {
    reason = e.what();
  } catch (...) {
    reason = "unknown failure";
  }
  return setup_error(path.string() + ": damaged srkit model file (" + reason +
                     "); export it again with `srkit train`");
}

}  // namespace srkit
