// A model imported from a TF.js layers-model (the UpscalerJS packages), wrapped so that it takes
// and returns [0,1] images whatever range its weights were trained on.
#pragma once

#include <filesystem>
#include <memory>

#include "srkit/models/model.h"
#include "srkit/nn/keras_graph.h"

namespace srkit {

// Fills the graph-derived fields of a card (channels, scale, parameters, FLOPs, receptive field,
// memory) from model.json alone, without reading the weights.
void describe_graph(const std::filesystem::path& model_json, ModelCard& card);

class ImportedTfjsModel : public Model {
 public:
  // Reads model.json and the weight shards. `card` carries the registry's facts (name, licence,
  // value range, digests); the graph-derived fields are filled in here.
  ImportedTfjsModel(const std::filesystem::path& model_json, ModelCard card);

  const ModelCard& card() const override { return card_; }
  void prepare(const torch::Device& device, bool channels_last) override;
  torch::Tensor forward(const torch::Tensor& input) override;

  KerasGraph& graph() { return graph_; }

 private:
  ModelCard card_;
  KerasGraph graph_{nullptr};
  bool channels_last_ = false;
};

}  // namespace srkit
