#include "srkit/models/guided_model.h"

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/models/model_file.h"
#include "srkit/nn/layers.h"

namespace srkit {
namespace {

constexpr const char* kFormat = "srkit-guided-model";

nlohmann::json read_description(const std::filesystem::path& path,
                                torch::serialize::InputArchive& archive) {
  if (!std::filesystem::is_regular_file(path)) {
    throw setup_error(path.string() + " does not exist: give a model file written by srkit train");
  }
  try {
    archive.load_from(path.string());
    c10::IValue text;
    if (!archive.try_read("srkit", text) || !text.isString()) return {};
    return nlohmann::json::parse(text.toStringRef(), nullptr, false);
  } catch (const c10::Error& e) {
    throw setup_error(path.string() + ": damaged model file (" + e.what_without_backtrace() + ")");
  }
}

}  // namespace

void save_guided_model(const std::filesystem::path& path, MagNetImpl& network,
                       const nlohmann::json& about) {
  nlohmann::json description = about;
  description["format"] = kFormat;
  description["network"] = network.config().to_json();
  torch::serialize::OutputArchive archive, weights;
  archive.write("srkit", c10::IValue(description.dump()));
  network.save(weights);
  archive.write("weights", weights);
  save_archive_atomically(archive, path, "the model file");
}

bool is_guided_model_file(const std::filesystem::path& path) {
  torch::serialize::InputArchive archive;
  try {
    const auto description = read_description(path, archive);
    return description.is_object() && description.value("format", std::string()) == kFormat;
  } catch (const Error&) {
    return false;
  }
}

GuidedModelFile load_guided_model(const std::filesystem::path& path) {
  torch::serialize::InputArchive archive;
  const auto description = read_description(path, archive);
  if (!description.is_object() || description.value("format", std::string()) != kFormat) {
    throw setup_error(path.string() + " is not a guided (MAG-Net) model file: train one with a "
                      "magnet config (docs/guided.md)");
  }
  GuidedModelFile file;
  file.about = description;
  try {
    // The text features are part of the weights (buffer "fixed_text"), so no embedding file is
    // needed to load: the zeros given here are replaced by the stored features.
    const auto config = MagNetConfig::from_json(description.at("network"));
    file.network = MagNet(config, torch::zeros({kGuidedTaskCount, config.text_dim}));
    torch::serialize::InputArchive weights;
    archive.read("weights", weights);
    file.network->load(weights);
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw setup_error(path.string() + ": damaged model file (" + e.what_without_backtrace() + ")");
  } catch (const std::exception& e) {
    throw setup_error(path.string() + ": damaged model file (" + e.what() + ")");
  }
  file.network->eval();
  set_channels_last(*file.network, true);
  return file;
}

UnitScaled scale_to_unit(const torch::Tensor& batch) {
  const auto flat = batch.reshape({batch.size(0), -1});
  const auto low = std::get<0>(flat.min(1)).view({-1, 1, 1, 1});
  auto span = std::get<0>(flat.max(1)).view({-1, 1, 1, 1}) - low;
  span = torch::where(span > 0, span, torch::ones_like(span));
  return {(batch - low) / span, low, span};
}

torch::Tensor guided_model_upscale(MagNetImpl& network, GuidedTask task,
                                   const torch::Tensor& target_lr, const torch::Tensor& guide,
                                   std::vector<torch::Tensor>* expert_counts) {
  torch::NoGradGuard no_grad;
  network.eval();
  const auto target = scale_to_unit(target_lr.unsqueeze(0).to(torch::kFloat));
  auto g = scale_to_unit(guide.unsqueeze(0).to(torch::kFloat));
  if (g.values.size(1) == 1 && guided_task_info(task).guide_channels == 3) {
    g.values = g.values.expand({-1, 3, -1, -1});  // a gray photo guiding depth
  }
  const auto out = network.forward(task, target.values, g.values);
  if (expert_counts) {
    expert_counts->resize(out.gates.size());
    for (size_t l = 0; l < out.gates.size(); ++l) {
      const auto counts = (out.gates[l] > 0).to(torch::kDouble).sum(0);
      (*expert_counts)[l] = (*expert_counts)[l].defined() ? (*expert_counts)[l] + counts : counts;
    }
  }
  return (out.image * target.span + target.low)[0];
}

}  // namespace srkit
