// Reader for ncnn models: the .param text (magic 7767517, layer and blob counts, then one line a
// layer: type, name, bottom and top counts, blob names, `key=value` parameters with arrays as
// `-233xx=n,v1,...`) and the .bin weights (each layer's blobs in load order; weight blobs carry a
// tag: 0x01306B47 fp16, 0 fp32; biases and slopes are raw fp32). It only parses, into the graph
// description that nn/ncnn_graph.h turns into a LibTorch module.
//
//   srkit::NcnnGraphSpec spec = srkit::read_ncnn_model("x4plus.param", "x4plus.bin");
//   srkit::NcnnGraph net(spec);
#pragma once

#include <filesystem>

#include "srkit/nn/ncnn_graph_spec.h"

namespace srkit {

// Parses the .param file and, unless `bin` is empty, reads every layer's weights from `bin`.
// Throws a setup Error naming the file (and the layer or line) when a file is missing, malformed,
// truncated or longer than its layers need, holds int8 or quantised weights, or a layer of a type
// nn/ncnn_graph.h does not run.
NcnnGraphSpec read_ncnn_model(const std::filesystem::path& param, const std::filesystem::path& bin);

// The .bin next to a .param: same name, extension .bin.
std::filesystem::path ncnn_weights_path(const std::filesystem::path& param);

}  // namespace srkit
