// A model imported from ncnn files (.param + .bin): Real-ESRGAN, Real-CUGAN, waifu2x and any other
// network built from the layers nn/ncnn_graph.h runs, wrapped with the conventions of the program
// it ships with so that it takes and returns [0,1] RGB images of scale x the input's size.
//
//   srkit::NcnnConventions how;  // derived from the graph: border padding, size alignment
//   srkit::NcnnModel model("up2x-conservative.param", card, how);
#pragma once

#include <filesystem>

#include "srkit/models/model.h"
#include "srkit/nn/ncnn_graph.h"

namespace srkit {

// How a family's program feeds its network.
struct NcnnConventions {
  // Real-CUGAN x4: the network predicts a residual over the nearest-upscaled input, which its
  // program adds after the network.
  bool add_nearest_input = false;
};

// What the graph says of its geometry: networks with unpadded convolutions (waifu2x, Real-CUGAN)
// shrink their input by a fixed border and need sides of some multiple; their programs pad the
// image by replicating its edge. Found by walking the graph's shapes.
struct NcnnGeometry {
  int64_t scale = 1;
  int64_t border = 0;  // input pixels added on each side (edge-replicated)
  int64_t align = 1;   // the unpadded input's sides are rounded up to a multiple of this
};
NcnnGeometry ncnn_geometry(const NcnnGraphImpl& graph, const std::filesystem::path& param);

class NcnnModel : public Model {
 public:
  // Reads the .param and the .bin beside it (io/ncnn_model.h). `card` carries the registry's
  // facts (name, licence, digests); the graph-derived fields are filled in here.
  NcnnModel(const std::filesystem::path& param, ModelCard card, NcnnConventions conventions = {});

  const ModelCard& card() const override { return card_; }
  void prepare(const torch::Device& device, bool channels_last) override;
  torch::Tensor forward(const torch::Tensor& input) override;

  // float32, or bfloat16 weights and activations (the output is float32 either way).
  void set_precision(torch::Dtype dtype) override;
  NcnnGeometry geometry() const { return geometry_; }

 private:
  ModelCard card_;
  NcnnConventions conventions_;
  NcnnGraph graph_{nullptr};
  NcnnGeometry geometry_;
  bool channels_last_ = false;
  torch::Dtype dtype_ = torch::kFloat;
};

// Fills the graph-derived fields of a card from the .param alone, without reading the weights'
// values (the .bin must still be there: weight shapes come from its sizes).
void describe_ncnn_graph(const std::filesystem::path& param, ModelCard& card);

}  // namespace srkit
