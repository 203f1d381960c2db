#include "srkit/models/ncnn_model.h"

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/io/ncnn_model.h"

namespace F = torch::nn::functional;

namespace srkit {
namespace {

constexpr int64_t kProbe = 64;  // a side every supported network takes after alignment

// The output side for an input side, or -1 when the graph refuses that size.
int64_t output_side(const NcnnGraphImpl& graph, int64_t side) {
  try {
    const auto shape =
        graph.output_shape(graph.input_channels() > 0 ? graph.input_channels() : 3, side, side);
    return shape.size() == 3 ? shape[2] : -1;
  } catch (const Error&) {
    return -1;
  }
}

void fill_card(const NcnnGraphImpl& graph, const NcnnGeometry& geometry, ModelCard& card) {
  const int64_t side = kProbe + 2 * geometry.border;
  const auto stats = graph.stats(3, side, side);
  const double pixels = static_cast<double>(kProbe * kProbe);
  const double padded = static_cast<double>(side * side);
  card.in_channels = stats.in_channels;
  card.out_channels = stats.out_channels;
  card.scale = geometry.scale;
  card.parameters = stats.parameters;
  card.flops_per_input_pixel = stats.flops_per_input_pixel * padded / pixels;
  card.peak_bytes_per_input_pixel = stats.peak_bytes_per_input_pixel * padded / pixels;
  card.receptive_radius = std::ceil(stats.receptive_radius) + geometry.align;
  card.size_multiple = 1;  // srkit pads to the alignment itself
  card.global_context = graph.global_context();
  card.value_range = 1.0;
}

}  // namespace

NcnnGeometry ncnn_geometry(const NcnnGraphImpl& graph, const std::filesystem::path& param) {
  // Find the smallest alignment at which sides n and n + align both run, then read the scale and
  // the border off out(n) = scale * (n - 2 * border).
  for (int64_t align : {1, 2, 4, 8, 16}) {
    const int64_t n = kProbe + 64;  // room for the border
    const int64_t a = output_side(graph, n);
    const int64_t b = output_side(graph, n + align);
    if (a <= 0 || b <= 0 || (b - a) % align != 0) continue;
    const int64_t scale = (b - a) / align;
    if (scale <= 0 || (scale * n - a) % (2 * scale) != 0) continue;
    const int64_t border = (scale * n - a) / (2 * scale);
    if (border < 0) continue;
    return {scale, border, align};
  }
  throw setup_error(param.string() +
                    ": srkit cannot tell the network's scale from its shapes (its output is "
                    "not scale x input minus a fixed border at any side alignment up to 16)");
}

NcnnModel::NcnnModel(const std::filesystem::path& param, ModelCard card,
                     NcnnConventions conventions)
    : card_(std::move(card)), conventions_(conventions) {
  graph_ = NcnnGraph(read_ncnn_model(param, ncnn_weights_path(param)));
  graph_->eval();
  geometry_ = ncnn_geometry(*graph_, param);
  fill_card(*graph_, geometry_, card_);
}

void NcnnModel::prepare(const torch::Device& device, bool channels_last) {
  graph_->to(device);
  graph_->set_channels_last(channels_last);
  channels_last_ = channels_last;
}

void NcnnModel::set_precision(torch::Dtype dtype) {
  if (dtype != torch::kFloat && dtype != torch::kBFloat16) Model::set_precision(dtype);
  dtype_ = dtype;
  graph_->set_dtype(dtype_);
}

torch::Tensor NcnnModel::forward(const torch::Tensor& input) {
  if (input.dim() != 4 || input.size(1) != card_.in_channels) {
    throw usage_error("{{model}} " + card_.name + " takes [N, " +
                      std::to_string(card_.in_channels) + ", H, W] images");
  }
  const int64_t h = input.size(2), w = input.size(3), s = geometry_.scale;
  const int64_t a = geometry_.align, b = geometry_.border;
  const int64_t extra_h = (h + a - 1) / a * a - h, extra_w = (w + a - 1) / a * a - w;
  torch::Tensor x;
  if (b > 0 || extra_h > 0 || extra_w > 0) {
    // Replicating the edge, as the families' programs do; replicate padding needs float.
    x = F::pad(input.to(torch::kFloat),
               F::PadFuncOptions({b, b + extra_w, b, b + extra_h}).mode(torch::kReplicate))
            .to(dtype_);
  } else {
    x = input.to(dtype_);
  }
  if (channels_last_) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  auto y = graph_->forward(x).to(torch::kFloat);
  y = y.narrow(2, 0, h * s).narrow(3, 0, w * s);
  if (conventions_.add_nearest_input) {
    y = y + F::interpolate(input.to(torch::kFloat),
                           F::InterpolateFuncOptions()
                               .scale_factor(std::vector<double>{double(s), double(s)})
                               .mode(torch::kNearest)
                               .recompute_scale_factor(false));
  }
  return y;
}

void describe_ncnn_graph(const std::filesystem::path& param, ModelCard& card) {
  NcnnGraphImpl graph(read_ncnn_model(param, ncnn_weights_path(param)));
  fill_card(graph, ncnn_geometry(graph, param), card);
}

}  // namespace srkit
