#include "srkit/models/model_file.h"

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/io/sha256.h"

namespace srkit {

void save_model_file(const std::filesystem::path& path, NetworkImpl& network,
                     const nlohmann::json& about) {
  auto description = about;
  description["network"] = network.config();
  save_model_archive(path, network, description);
}

ModelFile load_model_file(const std::filesystem::path& path) {
  if (!std::filesystem::is_regular_file(path)) {
    throw usage_error("{{model}} " + path.string() +
                      ": no such model file (give a .srkit file written by `srkit train`, a "
                      "model.json or a name from `srkit models`)");
  }
  return read_model_file(ModelArchive(path));
}

ModelFile read_model_file(const ModelArchive& archive) {
  const auto& path = archive.path();
  if (archive.architecture() == "magnet") {
    throw setup_error(path.string() +
                      " is a guided (MAG-Net) model: run it with `srkit guide "
                      "--model` and a guide image");
  }
  ModelFile file;
  file.about = archive.description();
  try {
    file.network = make_network(file.about.at("network"));
    archive.load_weights(*file.network);
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
