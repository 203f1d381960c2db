#include "srkit/models/imported_model.h"

#include <torch/torch.h>

#include "srkit/io/tfjs_model.h"

namespace srkit {
namespace {

void copy_stats(const GraphStats& stats, ModelCard& card) {
  card.in_channels = stats.in_channels;
  card.out_channels = stats.out_channels;
  card.scale = stats.scale;
  card.parameters = stats.parameters;
  card.flops_per_input_pixel = stats.flops_per_input_pixel;
  card.receptive_radius = stats.receptive_radius;
  card.peak_bytes_per_input_pixel = stats.peak_bytes_per_input_pixel;
}

}  // namespace

void describe_graph(const std::filesystem::path& model_json, ModelCard& card) {
  copy_stats(KerasGraph(read_tfjs_topology(model_json))->stats(), card);
}

ImportedTfjsModel::ImportedTfjsModel(const std::filesystem::path& model_json, ModelCard card)
    : card_(std::move(card)) {
  const auto topology = read_tfjs_topology(model_json);
  graph_ = KerasGraph(topology);
  graph_->load_weights(read_tfjs_weights(topology));
  graph_->eval();
  copy_stats(graph_->stats(), card_);
}

void ImportedTfjsModel::prepare(const torch::Device& device, bool channels_last) {
  graph_->to(device);
  graph_->set_channels_last(channels_last);
  channels_last_ = channels_last;
}

torch::Tensor ImportedTfjsModel::forward(const torch::Tensor& input) {
  auto x = card_.value_range == 1.0 ? input : input * card_.value_range;
  if (channels_last_) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  auto y = graph_->forward(x);
  return card_.value_range == 1.0 ? y : y / card_.value_range;
}

}  // namespace srkit
