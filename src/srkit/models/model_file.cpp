#include "srkit/models/model_file.h"

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/io/atomic_file.h"
#include "srkit/io/sha256.h"

namespace srkit {
namespace {

constexpr const char* kFormat = "srkit-model";
constexpr const char* kGuidedFormatV1 = "srkit-guided-model";  // guided models before version 2
// 2: one format for every native network, the architecture in the network's config.
constexpr int kVersion = 2;

}  // namespace

void save_model_archive(const std::filesystem::path& path, torch::nn::Module& network,
                        const nlohmann::json& description) {
  auto about = description;
  about["format"] = kFormat;
  about["version"] = kVersion;
  torch::serialize::OutputArchive archive;
  archive.write("srkit", c10::IValue(about.dump()));
  torch::serialize::OutputArchive weights;
  network.save(weights);
  archive.write("weights", weights);
  save_archive_atomically(archive, path, "the model file");
}

void save_model_file(const std::filesystem::path& path, NetworkImpl& network,
                     const nlohmann::json& about) {
  auto description = about;
  description["network"] = network.config();
  save_model_archive(path, network, description);
}

std::string model_file_architecture(const std::filesystem::path& path,
                                    const nlohmann::json& about) {
  if (!about.is_object()) {
    throw setup_error(path.string() + ": not a srkit model file (no srkit description)");
  }
  const auto format = about.value("format", std::string());
  if (format == kGuidedFormatV1) return "magnet";
  if (format != kFormat) {
    throw setup_error(path.string() + ": not a srkit model file (format '" + format + "')");
  }
  if (about.value("version", 0) > kVersion) {
    throw setup_error(path.string() + ": written by a newer srkit (model file version " +
                      std::to_string(about.value("version", 0)) + ", this srkit reads up to " +
                      std::to_string(kVersion) + "); update srkit or re-export it");
  }
  const auto network = about.value("network", nlohmann::json::object());
  return network.is_object() ? network.value("architecture", std::string()) : std::string();
}

void save_archive_atomically(torch::serialize::OutputArchive& archive,
                             const std::filesystem::path& path, const std::string& what) {
  AtomicOutput out(path);
  try {
    archive.save_to(out.temp_path().string());
  } catch (const c10::Error& e) {
    throw output_error(path.string(), "cannot write " + what + ": " + e.what_without_backtrace());
  }
  out.commit();
}

nlohmann::json read_archive_description(const std::filesystem::path& path,
                                        torch::serialize::InputArchive& archive) {
  if (!std::filesystem::is_regular_file(path)) {
    throw setup_error(path.string() + ": no such model file (give a .srkit file written by "
                      "`srkit train`)");
  }
  try {
    archive.load_from(path.string());
    c10::IValue text;
    if (!archive.try_read("srkit", text) || !text.isString()) return {};
    return nlohmann::json::parse(text.toStringRef());
  } catch (...) {
    throw damaged_model_file(path);
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

ModelFile load_model_file(const std::filesystem::path& path) {
  if (!std::filesystem::is_regular_file(path)) {
    throw usage_error("{{model}} " + path.string() +
                      ": no such model file (give a .srkit file written by `srkit train`, a "
                      "model.json or a name from `srkit models`)");
  }
  torch::serialize::InputArchive archive;
  const auto about = read_archive_description(path, archive);
  return read_model_file(path, about, archive);
}

ModelFile read_model_file(const std::filesystem::path& path, const nlohmann::json& about,
                          torch::serialize::InputArchive& archive) {
  if (model_file_architecture(path, about) == "magnet") {
    throw setup_error(path.string() + " is a guided (MAG-Net) model: run it with `srkit guide "
                      "--model` and a guide image");
  }
  ModelFile file;
  file.about = about;
  try {
    file.network = make_network(file.about.at("network"));
    torch::serialize::InputArchive weights;
    archive.read("weights", weights);
    file.network->load(weights);
  } catch (...) {
    throw damaged_model_file(path);
  }
  file.network->eval();
  return file;
}

NativeModel::NativeModel(const std::filesystem::path& path)
    : NativeModel(load_model_file(path), path) {}

NativeModel::NativeModel(ModelFile file, const std::filesystem::path& path) {
  network_ = file.network;
  card_.name = file.about.value("name", path.stem().string());
  card_.architecture = file.about.at("network").dump();
  card_.scale = network_->scale();
  card_.parameters = network_->parameter_count();
  card_.flops_per_input_pixel = network_->flops_per_input_pixel();
  card_.receptive_radius = network_->receptive_radius();
  card_.peak_bytes_per_input_pixel = network_->peak_bytes_per_input_pixel();
  card_.value_range = network_->value_range();
  card_.licence = file.about.value("licence", std::string("see the training data's licence"));
  card_.source = path.string();
  card_.sha256[path.filename().string()] = sha256_file(path);
}

void NativeModel::prepare(const torch::Device& device, bool channels_last) {
  network_->to(device);
  network_->set_channels_last(channels_last);
  channels_last_ = channels_last;
}

torch::Tensor NativeModel::forward(const torch::Tensor& input) {
  torch::NoGradGuard no_grad;
  const double range = card_.value_range;
  auto x = range == 1.0 ? input : input * range;
  if (channels_last_) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  auto y = network_->forward(x);
  return range == 1.0 ? y : y / range;
}

}  // namespace srkit
