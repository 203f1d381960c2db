#include "srkit/nn/ncnn_graph.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <torch/torch.h>

#include "srkit/core/error.h"

namespace F = torch::nn::functional;

namespace srkit {
namespace {

using Shape = std::vector<int64_t>;  // an ncnn blob's shape: [W], [H,W] or [C,H,W]

const std::vector<std::string>& supported() {
  static const std::vector<std::string> kTypes = {
      "Input", "Split",   "Convolution", "Deconvolution", "InnerProduct", "Pooling",
      "Crop",  "Concat",  "Eltwise",     "BinaryOp",      "Scale",        "PReLU",
      "ReLU",  "Sigmoid", "Interp",      "PixelShuffle"};
  return kTypes;
}

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (auto v : s) n *= v;
  return n;
}

std::string shape_text(const Shape& s) {
  std::string t;
  for (auto v : s) t += (t.empty() ? "" : "x") + std::to_string(v);
  return t;
}

// Fused activations of Convolution, Deconvolution and InnerProduct (ncnn's activation_type).
torch::Tensor activate(torch::Tensor x, int64_t type, const std::vector<double>& p) {
  switch (type) {
    case 0:
      return x;
    case 1:
      return torch::relu_(x);
    case 2:
      return F::leaky_relu(x, F::LeakyReLUFuncOptions().negative_slope(p.at(0)).inplace(true));
    case 3:
      return torch::clamp_(x, p.at(0), p.at(1));
    case 4:
      return torch::sigmoid_(x);
    case 5:
      return x * torch::tanh(F::softplus(x));
    case 6:
      return x * torch::clamp(x * p.at(0) + p.at(1), 0, 1);
    default:
      return x;
  }
}

// Where the padding of a convolution goes: ncnn's explicit pads, or -233/-234 (same-size output,
// the odd pixel after / before).
struct Pads {
  int64_t top = 0, bottom = 0, left = 0, right = 0;
};

int64_t same_total(int64_t in, int64_t kernel_extent, int64_t stride) {
  const int64_t out = (in + stride - 1) / stride;
  return std::max<int64_t>((out - 1) * stride + kernel_extent - in, 0);
}

}  // namespace

bool ncnn_layer_supported(const std::string& type) {
  const auto& t = supported();
  return std::find(t.begin(), t.end(), type) != t.end();
}

std::string ncnn_supported_layers() {
  std::string s;
  for (const auto& t : supported()) s += (s.empty() ? "" : ", ") + t;
  return s;
}

struct NcnnGraphImpl::Layer {
  std::string type, name;
  std::vector<int> in, out;
  NcnnParams p;
  torch::Tensor weight, bias;  // prepared for torch: OIHW conv, IOHW deconv, [out,in] linear
  // Convolution geometry.
  int64_t num_output = 0, kw = 1, kh = 1, dw = 1, dh = 1, sw = 1, sh = 1;
  int64_t pad_l = 0, pad_r = 0, pad_t = 0, pad_b = 0, out_pad_r = 0, out_pad_b = 0;
  int64_t activation = 0;
  std::vector<double> activation_params;

  [[noreturn]] void fail(const std::string& source, const std::string& problem) const {
    throw setup_error(source + ": layer " + name + " (" + type + "): " + problem);
  }

  Pads pads(int64_t h, int64_t w) const {
    Pads out{pad_t, pad_b, pad_l, pad_r};
    if (pad_l == -233 || pad_l == -234) {
      const int64_t th = same_total(h, dh * (kh - 1) + 1, sh);
      const int64_t tw = same_total(w, dw * (kw - 1) + 1, sw);
      const bool upper = pad_l == -233;
      out.top = upper ? th / 2 : th - th / 2;
      out.bottom = th - out.top;
      out.left = upper ? tw / 2 : tw - tw / 2;
      out.right = tw - out.left;
    }
    return out;
  }
};

namespace {

using Layer = NcnnGraphImpl::Layer;

// ---- shapes: what each layer makes of its inputs' shapes, checked
// --------------------------------

Shape conv_shape(const Layer& l, const Shape& s, const std::string& src) {
  if (s.size() != 3) l.fail(src, "needs a C x H x W input, got " + shape_text(s));
  const int64_t in_c = l.weight.size(1);
  if (s[0] != in_c) {
    l.fail(src, "expects " + std::to_string(in_c) + " input channels, got " + std::to_string(s[0]));
  }
  const auto pad = l.pads(s[1], s[2]);
  const int64_t h = (s[1] + pad.top + pad.bottom - (l.dh * (l.kh - 1) + 1)) / l.sh + 1;
  const int64_t w = (s[2] + pad.left + pad.right - (l.dw * (l.kw - 1) + 1)) / l.sw + 1;
  if (h <= 0 || w <= 0) l.fail(src, "input " + shape_text(s) + " is smaller than its kernel");
  return {l.num_output, h, w};
}

Shape deconv_shape(const Layer& l, const Shape& s, const std::string& src) {
  if (s.size() != 3) l.fail(src, "needs a C x H x W input, got " + shape_text(s));
  const int64_t in_c = l.weight.size(0);
  if (s[0] != in_c) {
    l.fail(src, "expects " + std::to_string(in_c) + " input channels, got " + std::to_string(s[0]));
  }
  const int64_t h = (s[1] - 1) * l.sh + l.dh * (l.kh - 1) + 1 + l.out_pad_b - l.pad_t - l.pad_b;
  const int64_t w = (s[2] - 1) * l.sw + l.dw * (l.kw - 1) + 1 + l.out_pad_r - l.pad_l - l.pad_r;
  if (h <= 0 || w <= 0) l.fail(src, "its padding removes the whole output");
  return {l.num_output, h, w};
}

// ncnn's Crop: numpy-style starts/ends/axes, a reference blob's size, or offsets.
struct CropBox {
  std::vector<int64_t> begin, size;  // per ncnn axis of the input
};

CropBox crop_box(const Layer& l, const Shape& s, const Shape* reference, const std::string& src) {
  CropBox box{Shape(s.size(), 0), s};
  const auto starts = l.p.get_array(9);
  const auto ends = l.p.get_array(10);
  if (!starts.empty() && !ends.empty()) {
    auto axes = l.p.get_array(11);
    if (axes.empty()) {
      for (size_t i = 0; i < s.size(); ++i) axes.push_back(static_cast<double>(i));
    }
    if (axes.size() != starts.size() || axes.size() != ends.size()) {
      l.fail(src, "starts, ends and axes differ in length");
    }
    for (size_t i = 0; i < axes.size(); ++i) {
      int64_t axis = static_cast<int64_t>(axes[i]);
      if (axis < 0) axis += static_cast<int64_t>(s.size());
      if (axis < 0 || axis >= static_cast<int64_t>(s.size())) l.fail(src, "axis out of range");
      const int64_t n = s[axis];
      int64_t start = static_cast<int64_t>(starts[i]);
      int64_t end = static_cast<int64_t>(ends[i]);
      if (start == -233) start = 0;
      if (end == -233) end = n;
      const int64_t b = start >= 0 ? start : n + start;
      const int64_t e = std::min(n, end > 0 ? end : n + end);
      box.begin[axis] = b;
      box.size[axis] = e - b;
    }
  } else {
    // Offsets per ncnn axis order: [w] / [h, w] / [c, h, w].
    const int64_t w_off = l.p.get_int(0, 0), h_off = l.p.get_int(1, 0), c_off = l.p.get_int(2, 0);
    const Shape offsets = s.size() == 1   ? Shape{w_off}
                          : s.size() == 2 ? Shape{h_off, w_off}
                                          : Shape{c_off, h_off, w_off};
    box.begin = offsets;
    if (reference != nullptr) {
      const auto& r = *reference;
      for (size_t i = 0; i < s.size(); ++i) {
        // The reference's trailing axes give the size; a lower-rank reference keeps channels.
        const int64_t ri = static_cast<int64_t>(i) - static_cast<int64_t>(s.size() - r.size());
        box.size[i] = ri >= 0 ? r[ri] : s[i];
      }
    } else {
      const int64_t w2 = l.p.get_int(6, 0), h2 = l.p.get_int(7, 0), c2 = l.p.get_int(8, 0);
      const Shape after = s.size() == 1   ? Shape{w2}
                          : s.size() == 2 ? Shape{h2, w2}
                                          : Shape{c2, h2, w2};
      const int64_t ow = l.p.get_int(3, 0), oh = l.p.get_int(4, 0), oc = l.p.get_int(5, 0);
      const Shape limit = s.size() == 1   ? Shape{ow}
                          : s.size() == 2 ? Shape{oh, ow}
                                          : Shape{oc, oh, ow};
      for (size_t i = 0; i < s.size(); ++i) {
        box.size[i] = s[i] - offsets[i] - after[i];
        if (limit[i] > 0 && limit[i] != -233) box.size[i] = std::min(box.size[i], limit[i]);
      }
    }
  }
  for (size_t i = 0; i < s.size(); ++i) {
    if (box.begin[i] < 0 || box.size[i] <= 0 || box.begin[i] + box.size[i] > s[i]) {
      l.fail(src, "crop falls outside its input " + shape_text(s));
    }
  }
  return box;
}

// ncnn's BinaryOp broadcasting: a lower-rank operand is first given the higher rank (a vector as
// long as the channels becomes per-channel, else per-column), then numpy rules apply.
Shape expand_rank(const Shape& a, const Shape& b) {
  if (a.size() >= b.size()) return a;
  if (b.size() == 2 && a.size() == 1) return a[0] == b[0] ? Shape{a[0], 1} : Shape{1, a[0]};
  if (b.size() == 3 && a.size() == 1) return a[0] == b[0] ? Shape{a[0], 1, 1} : Shape{1, 1, a[0]};
  if (b.size() == 3 && a.size() == 2) return Shape{a[0], a[1], 1};
  return a;
}

Shape broadcast(const Shape& a, const Shape& b, const Layer& l, const std::string& src) {
  const auto x = expand_rank(a, b);
  const auto y = expand_rank(b, a);
  Shape out(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] != y[i] && x[i] != 1 && y[i] != 1) {
      l.fail(src, "cannot broadcast " + shape_text(a) + " with " + shape_text(b));
    }
    out[i] = std::max(x[i], y[i]);
  }
  return out;
}

Shape interp_size(const Layer& l, const Shape& s, const Shape* reference, const std::string& src) {
  if (s.size() != 3) l.fail(src, "resizes C x H x W blobs only, got " + shape_text(s));
  int64_t oh = l.p.get_int(3, 0), ow = l.p.get_int(4, 0);
  if (reference != nullptr) {
    oh = (*reference)[reference->size() - 2];
    ow = (*reference)[reference->size() - 1];
  } else if (oh == 0 || ow == 0) {
    oh = static_cast<int64_t>(static_cast<float>(s[1]) * static_cast<float>(l.p.get_float(1, 1)));
    ow = static_cast<int64_t>(static_cast<float>(s[2]) * static_cast<float>(l.p.get_float(2, 1)));
  }
  if (oh <= 0 || ow <= 0) l.fail(src, "resizes " + shape_text(s) + " to nothing");
  return {s[0], oh, ow};
}

// The torch dimension of ncnn axis `axis` of a blob of `dims` dimensions (after the batch).
int64_t torch_axis(int64_t axis, size_t dims) {
  return (axis < 0 ? axis + static_cast<int64_t>(dims) : axis) + 1;
}

torch::Tensor to_rank(const torch::Tensor& t, const Shape& ncnn_shape) {
  std::vector<int64_t> sizes{t.size(0)};
  sizes.insert(sizes.end(), ncnn_shape.begin(), ncnn_shape.end());
  return t.reshape(sizes);
}

Shape ncnn_shape(const torch::Tensor& t) { return Shape(t.sizes().begin() + 1, t.sizes().end()); }

}  // namespace

NcnnGraphImpl::NcnnGraphImpl(const NcnnGraphSpec& spec) : source_(spec.source) {
  std::map<std::string, int> blob_of;
  auto blob = [&](const std::string& name, bool create) -> int {
    const auto it = blob_of.find(name);
    if (it != blob_of.end()) return it->second;
    if (!create) return -1;
    blob_of[name] = static_cast<int>(blob_names_.size());
    blob_names_.push_back(name);
    return blob_of[name];
  };
  std::vector<bool> consumed;
  int index = 0;
  for (const auto& s : spec.layers) {
    auto l = std::make_shared<Layer>();
    l->type = s.type;
    l->name = s.name;
    l->p = s.params;
    if (!ncnn_layer_supported(s.type)) {
      l->fail(source_,
              "a layer type srkit does not run (supported: " + ncnn_supported_layers() + ")");
    }
    for (const auto& b : s.bottoms) {
      const int id = blob(b, false);
      if (id < 0) l->fail(source_, "reads blob " + b + ", which no earlier layer makes");
      l->in.push_back(id);
      consumed[id] = true;
    }
    for (const auto& t : s.tops) {
      l->out.push_back(blob(t, true));
      consumed.resize(blob_names_.size(), false);
    }
    const auto& p = s.params;
    auto need_inputs = [&](size_t lo, size_t hi) {
      if (l->in.size() < lo || l->in.size() > hi) l->fail(source_, "wrong number of inputs");
      if (l->out.empty()) l->fail(source_, "makes no blob");
    };
    auto weights = [&](size_t n) {
      if (s.weights.size() < n) l->fail(source_, "its weights are missing");
    };
    const std::string prefix = "layer" + std::to_string(index++);
    if (s.type == "Input") {
      need_inputs(0, 0);
      if (input_blob_ < 0) input_blob_ = l->out[0];
    } else if (s.type == "Convolution" || s.type == "Deconvolution") {
      need_inputs(1, 1);
      const bool deconv = s.type == "Deconvolution";
      l->num_output = p.get_int(0, 0);
      l->kw = p.get_int(1, 0);
      l->kh = p.get_int(11, l->kw);
      l->dw = p.get_int(2, 1);
      l->dh = p.get_int(12, l->dw);
      l->sw = p.get_int(3, 1);
      l->sh = p.get_int(13, l->sw);
      l->pad_l = p.get_int(4, 0);
      l->pad_r = p.get_int(15, l->pad_l);
      l->pad_t = p.get_int(14, l->pad_l);
      l->pad_b = p.get_int(16, l->pad_t);
      l->activation = p.get_int(9, 0);
      l->activation_params = p.get_array(10);
      if (p.get_float(18, 0) != 0 && !deconv) l->fail(source_, "a non-zero pad value");
      if (p.get_int(deconv ? 28 : 19, 0) != 0) l->fail(source_, "dynamic weights");
      if (deconv) {
        l->out_pad_r = p.get_int(18, 0);
        l->out_pad_b = p.get_int(19, l->out_pad_r);
        if (p.get_int(20, 0) != 0) l->fail(source_, "an explicit output size");
        if (l->pad_l < 0) l->fail(source_, "same-size padding on a deconvolution");
      }
      weights(1);
      const int64_t k = l->num_output * l->kh * l->kw;
      const int64_t size = s.weights[0].numel();
      if (l->num_output <= 0 || l->kw <= 0 || k == 0 || size % k != 0) {
        l->fail(source_, "weight size " + std::to_string(size) + " does not fit its shape");
      }
      auto w = s.weights[0].reshape({l->num_output, size / k, l->kh, l->kw});
      l->weight = register_buffer(prefix + "_weight", deconv ? w.transpose(0, 1).contiguous() : w);
      if (s.weights.size() > 1) l->bias = register_buffer(prefix + "_bias", s.weights[1]);
      if (!deconv && input_channels_ == 0) input_channels_ = size / k;
    } else if (s.type == "InnerProduct") {
      need_inputs(1, 1);
      l->num_output = p.get_int(0, 0);
      l->activation = p.get_int(9, 0);
      l->activation_params = p.get_array(10);
      weights(1);
      const int64_t size = s.weights[0].numel();
      if (l->num_output <= 0 || size % l->num_output != 0) {
        l->fail(source_, "weight size does not fit its output count");
      }
      l->weight = register_buffer(prefix + "_weight",
                                  s.weights[0].reshape({l->num_output, size / l->num_output}));
      if (s.weights.size() > 1) l->bias = register_buffer(prefix + "_bias", s.weights[1]);
    } else if (s.type == "PReLU") {
      need_inputs(1, 1);
      weights(1);
      l->weight = register_buffer(prefix + "_slope", s.weights[0]);
    } else if (s.type == "Scale") {
      need_inputs(p.get_int(0, 0) == -233 ? 2 : 1, p.get_int(0, 0) == -233 ? 2 : 1);
      size_t next = 0;
      if (p.get_int(0, 0) != -233) {
        weights(1);
        l->weight = register_buffer(prefix + "_scale", s.weights[next++]);
      }
      if (p.get_int(1, 0) != 0) {
        weights(next + 1);
        l->bias = register_buffer(prefix + "_bias", s.weights[next]);
      }
    } else if (s.type == "Pooling") {
      need_inputs(1, 1);
      if (p.get_int(7, 0) != 0) l->fail(source_, "adaptive pooling");
      if (p.get_int(0, 0) != 0 && p.get_int(0, 0) != 1) l->fail(source_, "an unknown pooling");
    } else if (s.type == "BinaryOp") {
      const int64_t op = p.get_int(0, 0);
      if (op < 0 || op > 9) l->fail(source_, "operation " + std::to_string(op));
      need_inputs(p.get_int(1, 0) != 0 ? 1 : 2, p.get_int(1, 0) != 0 ? 1 : 2);
    } else if (s.type == "Eltwise") {
      need_inputs(1, 64);
      if (p.get_int(0, 1) < 0 || p.get_int(0, 1) > 2) l->fail(source_, "an unknown operation");
    } else if (s.type == "Interp") {
      need_inputs(1, 2);
      const int64_t mode = p.get_int(0, 0);
      if (mode < 1 || mode > 3) l->fail(source_, "resize type " + std::to_string(mode));
    } else if (s.type == "Crop") {
      need_inputs(1, 2);
    } else if (s.type == "Split") {
      need_inputs(1, 1);
    } else {
      need_inputs(1, 64);
    }
    layers_.push_back(l);
  }
  if (input_blob_ < 0) throw setup_error(source_ + ": the network has no Input layer");
  // The output: the last blob no layer reads.
  for (int b = static_cast<int>(blob_names_.size()) - 1; b >= 0 && output_blob_ < 0; --b) {
    if (!consumed[b]) output_blob_ = b;
  }
  last_use_.assign(blob_names_.size(), -1);
  for (size_t i = 0; i < layers_.size(); ++i) {
    for (int b : layers_[i]->in) last_use_[b] = static_cast<int>(i);
  }
  for (const auto& b : buffers()) parameters_ += b.numel();

  // Receptive field, per blob: its pixels per input pixel and its radius in input pixels.
  std::vector<double> density(blob_names_.size(), 1.0), radius(blob_names_.size(), 0.0);
  std::vector<bool> global(blob_names_.size(), false);
  for (const auto& l : layers_) {
    double r = 0, d = 1;
    bool g = false;
    for (int b : l->in) {
      r = std::max(r, radius[b]);
      g = g || global[b];
    }
    if (!l->in.empty()) d = density[l->in[0]];
    if (l->type == "Convolution") {
      r += static_cast<double>(std::max(l->dh * (l->kh - 1), l->dw * (l->kw - 1))) / 2.0 / d;
      d /= static_cast<double>(l->sw);
    } else if (l->type == "Deconvolution") {
      // An output pixel sees ceil(k / s) input pixels around it.
      r += std::ceil(static_cast<double>(l->dw * (l->kw - 1) + 1) / l->sw) / 2.0 / d;
      d *= static_cast<double>(l->sw);
    } else if (l->type == "Interp") {
      const int64_t mode = l->p.get_int(0, 0);
      const double taps = mode == 1 ? 0.5 : mode == 2 ? 1.0 : 2.0;
      const double f = l->p.get_float(2, 1.0);
      r += taps / std::min(d, d * f);
      d *= f;
    } else if (l->type == "PixelShuffle") {
      d *= static_cast<double>(l->p.get_int(0, 1));
    } else if (l->type == "Pooling") {
      if (l->p.get_int(4, 0) != 0) {
        g = true;
      } else {
        r += static_cast<double>(l->p.get_int(1, 0)) / 2.0 / d;
        d /= static_cast<double>(l->p.get_int(2, 1));
      }
    } else if (l->type == "InnerProduct") {
      g = true;
    }
    for (int b : l->out) {
      radius[b] = r;
      density[b] = d;
      global[b] = g;
    }
  }
  receptive_radius_ = radius[output_blob_];
  global_context_ = global[output_blob_];
}

namespace {

// The shape of a layer's outputs (all alike) from its inputs' shapes.
Shape layer_shape(const Layer& l, const std::vector<const Shape*>& in, const std::string& src) {
  const auto& p = l.p;
  if (l.type == "Convolution") return conv_shape(l, *in[0], src);
  if (l.type == "Deconvolution") return deconv_shape(l, *in[0], src);
  if (l.type == "InnerProduct") {
    const int64_t n = numel(*in[0]);
    if (n != l.weight.size(1)) {
      l.fail(src,
             "expects " + std::to_string(l.weight.size(1)) + " inputs, got " + std::to_string(n));
    }
    return {l.num_output};
  }
  if (l.type == "Pooling") {
    const auto& s = *in[0];
    if (s.size() != 3) l.fail(src, "pools C x H x W blobs only");
    if (p.get_int(4, 0) != 0) return {s[0]};
    const int64_t k = p.get_int(1, 0), stride = p.get_int(2, 1), pad = p.get_int(3, 0);
    if (p.get_int(14, pad) != pad || p.get_int(13, pad) != pad || p.get_int(15, pad) != pad ||
        (p.get_int(5, 0) != 0 && p.get_int(5, 0) != 1)) {
      l.fail(src, "asymmetric or same-size pooling padding");
    }
    const auto side = [&](int64_t n) { return (n + 2 * pad - k) / stride + 1; };
    if (k <= 0 || side(s[1]) <= 0 || side(s[2]) <= 0) l.fail(src, "a kernel larger than its input");
    return {s[0], side(s[1]), side(s[2])};
  }
  if (l.type == "Crop") {
    const auto box = crop_box(l, *in[0], in.size() > 1 ? in[1] : nullptr, src);
    return box.size;
  }
  if (l.type == "Concat") {
    Shape out = *in[0];
    const int64_t axis = torch_axis(p.get_int(0, 0), out.size()) - 1;
    for (size_t i = 1; i < in.size(); ++i) {
      const auto& s = *in[i];
      bool fits = s.size() == out.size();
      for (size_t a = 0; fits && a < s.size(); ++a) {
        fits = static_cast<int64_t>(a) == axis || s[a] == out[a];
      }
      if (!fits) l.fail(src, "concatenates " + shape_text(out) + " with " + shape_text(s));
      out[axis] += s[axis];
    }
    return out;
  }
  if (l.type == "Eltwise") {
    for (const auto* s : in) {
      if (*s != *in[0]) l.fail(src, "combines blobs of different shapes");
    }
    return *in[0];
  }
  if (l.type == "BinaryOp") return in.size() == 1 ? *in[0] : broadcast(*in[0], *in[1], l, src);
  if (l.type == "Scale") {
    const auto& s = *in[0];
    const int64_t n = l.weight.defined() ? l.weight.numel() : numel(*in[1]);
    if (n != s[0] && n != 1)
      l.fail(src, "scales " + std::to_string(n) + " channels of " + shape_text(s));
    return s;
  }
  if (l.type == "PReLU") {
    const int64_t n = l.weight.numel();
    if (n != 1 && n != (*in[0])[0]) l.fail(src, "has slopes for other channel counts");
    return *in[0];
  }
  if (l.type == "Interp") return interp_size(l, *in[0], in.size() > 1 ? in[1] : nullptr, src);
  if (l.type == "PixelShuffle") {
    const auto& s = *in[0];
    const int64_t r = p.get_int(0, 1);
    if (s.size() != 3 || r <= 0 || s[0] % (r * r) != 0) {
      l.fail(src, "cannot shuffle " + shape_text(s) + " by " + std::to_string(r));
    }
    return {s[0] / (r * r), s[1] * r, s[2] * r};
  }
  return *in[0];  // Split, ReLU, Sigmoid
}

double layer_flops(const Layer& l, const std::vector<const Shape*>& in, const Shape& out) {
  if (l.type == "Convolution") return 2.0 * numel(out) * l.weight.size(1) * l.kh * l.kw;
  if (l.type == "Deconvolution") return 2.0 * numel(*in[0]) * l.num_output * l.kh * l.kw;
  if (l.type == "InnerProduct") return 2.0 * static_cast<double>(l.weight.numel());
  if (l.type == "Split" || l.type == "Input") return 0;
  return static_cast<double>(numel(out));
}

// ---- running
// -------------------------------------------------------------------------------------

torch::Tensor run_conv(const Layer& l, const torch::Tensor& x, bool channels_last) {
  const auto pad = l.pads(x.size(2), x.size(3));
  torch::Tensor in = x;
  std::vector<int64_t> padding{pad.top, pad.left};
  if (pad.top != pad.bottom || pad.left != pad.right) {
    in = F::pad(x, F::PadFuncOptions({pad.left, pad.right, pad.top, pad.bottom}));
    padding = {0, 0};
  }
  auto y = torch::conv2d(in, l.weight, l.bias.defined() ? l.bias : torch::Tensor(), {l.sh, l.sw},
                         padding, {l.dh, l.dw});
  if (channels_last) y = y.contiguous(torch::MemoryFormat::ChannelsLast);
  return activate(y, l.activation, l.activation_params);
}

torch::Tensor run_deconv(const Layer& l, const torch::Tensor& x) {
  auto y = torch::conv_transpose2d(x, l.weight, {}, {l.sh, l.sw}, 0, 0, 1, {l.dh, l.dw});
  if (l.out_pad_r > 0 || l.out_pad_b > 0) {
    y = F::pad(y, F::PadFuncOptions({0, l.out_pad_r, 0, l.out_pad_b}));
  }
  y = y.narrow(2, l.pad_t, y.size(2) - l.pad_t - l.pad_b)
          .narrow(3, l.pad_l, y.size(3) - l.pad_l - l.pad_r);
  if (l.bias.defined()) y = y + l.bias.view({1, -1, 1, 1});
  return activate(y, l.activation, l.activation_params);
}

// A per-channel vector [C] (or [N,C]) shaped to multiply a blob of `dims` dimensions.
torch::Tensor per_channel(const torch::Tensor& v, int64_t dims, int64_t batch) {
  std::vector<int64_t> shape{batch, v.numel() / batch};
  for (int64_t i = 1; i < dims; ++i) shape.push_back(1);
  return v.reshape(shape);
}

torch::Tensor run_binary(int64_t op, const torch::Tensor& a, const torch::Tensor& b) {
  switch (op) {
    case 0:
      return a + b;
    case 1:
      return a - b;
    case 2:
      return a * b;
    case 3:
      return a / b;
    case 4:
      return torch::maximum(a, b);
    case 5:
      return torch::minimum(a, b);
    case 6:
      return torch::pow(a, b);
    case 7:
      return b - a;
    case 8:
      return b / a;
    default:
      return torch::pow(b, a);
  }
}

torch::Tensor run_interp(const Layer& l, const torch::Tensor& x, const Shape& out) {
  const int64_t mode = l.p.get_int(0, 0);
  const bool align = l.p.get_int(6, 0) != 0;
  const std::vector<int64_t> size{out[1], out[2]};
  const auto in = x.dtype() == torch::kFloat ? x : x.to(torch::kFloat);
  torch::Tensor y;
  if (mode == 1) {
    const bool explicit_size = l.p.get_int(4, 0) != 0 || l.in.size() > 1;
    auto options = F::InterpolateFuncOptions().mode(torch::kNearest);
    if (explicit_size) {
      y = F::interpolate(in, options.size(size));
    } else {
      // ncnn picks source pixels with 1 / scale, as torch does for a scale factor.
      y = F::interpolate(
          in, options.scale_factor(std::vector<double>{l.p.get_float(1, 1), l.p.get_float(2, 1)})
                  .recompute_scale_factor(false));
    }
  } else {
    auto options = F::InterpolateFuncOptions().size(size).align_corners(align);
    if (mode == 2) {
      options.mode(torch::kBilinear);
    } else {
      options.mode(torch::kBicubic);
    }
    y = F::interpolate(in, options);
  }
  return y.to(x.dtype());
}

}  // namespace

std::vector<int64_t> NcnnGraphImpl::output_shape(int64_t channels, int64_t height,
                                                 int64_t width) const {
  std::vector<Shape> shapes(blob_names_.size());
  shapes[input_blob_] = {channels, height, width};
  for (const auto& l : layers_) {
    if (l->type == "Input") continue;
    std::vector<const Shape*> in;
    for (int b : l->in) in.push_back(&shapes[b]);
    const auto out = layer_shape(*l, in, source_);
    for (int b : l->out) shapes[b] = out;
  }
  return shapes[output_blob_];
}

GraphStats NcnnGraphImpl::stats(int64_t channels, int64_t height, int64_t width) const {
  GraphStats st;
  std::vector<Shape> shapes(blob_names_.size());
  shapes[input_blob_] = {channels, height, width};
  double flops = 0;
  int64_t live = numel(shapes[input_blob_]), peak = live;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const auto& l = layers_[i];
    if (l->type == "Input") continue;
    std::vector<const Shape*> in;
    for (int b : l->in) in.push_back(&shapes[b]);
    const auto out = layer_shape(*l, in, source_);
    flops += layer_flops(*l, in, out);
    live += numel(out) * static_cast<int64_t>(l->out.size());  // a Split's tops count as copies
    for (int b : l->out) shapes[b] = out;
    // LibTorch runs a convolution through oneDNN, which copies its input and output to a blocked
    // layout while the plain ones are alive. Counted: Real-ESRGAN x4fast measured 1282 bytes per
    // input pixel (`srkit bench --size 300` and `--size 600` under /usr/bin/time, the difference
    // of peak RSS over that of pixels) against 576 counting the blobs alone, 1036 with the copies.
    const bool conv = l->type == "Convolution" || l->type == "Deconvolution";
    const int64_t copies = conv ? numel(*in[0]) + numel(out) : 0;
    peak = std::max(peak, live + copies);
    for (int b : l->in) {
      if (last_use_[b] == static_cast<int>(i)) live -= numel(shapes[b]);
    }
  }
  const auto& out = shapes[output_blob_];
  const double pixels = static_cast<double>(height * width);
  st.in_channels = input_channels_ > 0 ? input_channels_ : channels;
  st.out_channels = out.size() == 3 ? out[0] : 0;
  st.scale = out.size() == 3 ? std::lround(static_cast<double>(out[2]) / width) : 0;
  st.parameters = parameters_;
  st.flops_per_input_pixel = flops / pixels;
  st.receptive_radius = receptive_radius_;
  st.peak_bytes_per_input_pixel = 4.0 * static_cast<double>(peak) / pixels;
  return st;
}

void NcnnGraphImpl::set_channels_last(bool channels_last) {
  channels_last_ = channels_last;
  for (auto& l : layers_) {
    if (l->type != "Convolution" && l->type != "Deconvolution") continue;
    l->weight.set_data(channels_last ? l->weight.contiguous(torch::MemoryFormat::ChannelsLast)
                                     : l->weight.contiguous());
  }
}

void NcnnGraphImpl::set_dtype(torch::Dtype dtype) {
  for (auto& b : buffers()) b.set_data(b.to(dtype));
  set_channels_last(channels_last_);
}

torch::Tensor NcnnGraphImpl::forward(const torch::Tensor& input) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> blobs(blob_names_.size());
  blobs[input_blob_] = input;
  const int64_t batch = input.size(0);
  for (size_t i = 0; i < layers_.size(); ++i) {
    const auto& l = *layers_[i];
    const auto& p = l.p;
    if (l.type == "Input") continue;
    std::vector<torch::Tensor> in;
    for (int b : l.in) in.push_back(blobs[b]);
    const auto& x = in[0];
    torch::Tensor y;
    if (l.type == "Split") {
      y = x;
    } else if (l.type == "Convolution") {
      y = run_conv(l, x, channels_last_);
    } else if (l.type == "Deconvolution") {
      y = run_deconv(l, x);
    } else if (l.type == "InnerProduct") {
      y = activate(torch::linear(x.reshape({batch, -1}), l.weight,
                                 l.bias.defined() ? l.bias : torch::Tensor()),
                   l.activation, l.activation_params);
    } else if (l.type == "Pooling") {
      const bool max = p.get_int(0, 0) == 0;
      if (p.get_int(4, 0) != 0) {
        y = max ? x.amax({2, 3}) : x.mean({2, 3});
      } else {
        const int64_t k = p.get_int(1, 0), s = p.get_int(2, 1), pad = p.get_int(3, 0);
        y = max ? torch::max_pool2d(x, {k, k}, {s, s}, {pad, pad})
                : torch::avg_pool2d(x, {k, k}, {s, s}, {pad, pad}, false, p.get_int(6, 0) != 0);
      }
    } else if (l.type == "Crop") {
      const Shape reference = in.size() > 1 ? ncnn_shape(in[1]) : Shape{};
      const auto box = crop_box(l, ncnn_shape(x), in.size() > 1 ? &reference : nullptr, source_);
      y = x;
      for (size_t a = 0; a < box.begin.size(); ++a) {
        y = y.narrow(static_cast<int64_t>(a) + 1, box.begin[a], box.size[a]);
      }
    } else if (l.type == "Concat") {
      y = torch::cat(in, torch_axis(p.get_int(0, 0), static_cast<size_t>(x.dim() - 1)));
    } else if (l.type == "Eltwise") {
      const int64_t op = p.get_int(0, 1);
      const auto coeffs = p.get_array(1);
      for (size_t k = 0; k < in.size(); ++k) {
        auto term = in[k];
        if (op == 1 && !coeffs.empty()) term = term * coeffs.at(k);
        y = k == 0 ? term : (op == 0 ? y * term : op == 1 ? y + term : torch::maximum(y, term));
      }
    } else if (l.type == "BinaryOp") {
      const int64_t op = p.get_int(0, 0);
      if (p.get_int(1, 0) != 0) {
        y = run_binary(op, x, torch::scalar_tensor(p.get_float(2, 0), x.options()));
      } else {
        const auto a = ncnn_shape(x), b = ncnn_shape(in[1]);
        y = run_binary(op, to_rank(x, expand_rank(a, b)), to_rank(in[1], expand_rank(b, a)));
      }
    } else if (l.type == "Scale") {
      const auto scale = l.weight.defined() ? l.weight : in[1];
      const int64_t scale_batch = l.weight.defined() ? 1 : batch;
      y = x * per_channel(scale, x.dim() - 1, scale_batch);
      if (l.bias.defined()) y = y + per_channel(l.bias, x.dim() - 1, 1);
    } else if (l.type == "PReLU") {
      y = torch::prelu(x, l.weight);
    } else if (l.type == "ReLU") {
      const double slope = p.get_float(0, 0);
      y = slope == 0 ? torch::relu(x)
                     : F::leaky_relu(x, F::LeakyReLUFuncOptions().negative_slope(slope));
    } else if (l.type == "Sigmoid") {
      y = torch::sigmoid(x);
    } else if (l.type == "Interp") {
      std::vector<const Shape*> shapes;
      const auto a = ncnn_shape(x);
      Shape b;
      shapes.push_back(&a);
      if (in.size() > 1) {
        b = ncnn_shape(in[1]);
        shapes.push_back(&b);
      }
      y = run_interp(l, x, layer_shape(l, shapes, source_));
    } else if (l.type == "PixelShuffle") {
      const int64_t r = p.get_int(0, 1);
      if (p.get_int(1, 0) == 0) {
        y = torch::pixel_shuffle(x, r);
      } else {
        // TF's depth_to_space order: channel (dy * r + dx) * C + c.
        const int64_t c = x.size(1) / (r * r), h = x.size(2), w = x.size(3);
        y = x.reshape({batch, r, r, c, h, w})
                .permute({0, 3, 4, 1, 5, 2})
                .reshape({batch, c, h * r, w * r});
      }
    }
    for (int b : l.out) blobs[b] = y;
    for (int b : l.in) {
      if (last_use_[b] == static_cast<int>(i) && b != output_blob_) blobs[b] = torch::Tensor();
    }
  }
  return blobs[output_blob_];
}

}  // namespace srkit
