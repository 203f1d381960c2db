#include "srkit/nn/magnet.h"

#include <algorithm>

#include <torch/torch.h>

#include "srkit/core/config_section.h"
#include "srkit/core/error.h"
#include "srkit/ops/resize.h"

namespace srkit {
namespace {

constexpr int64_t kLevels = 4;

}  // namespace

nlohmann::json MagNetConfig::to_json() const {
  return {{"architecture", "magnet"},
          {"dim", dim},
          {"blocks", blocks},
          {"refinement", refinement},
          {"heads", heads},
          {"expansion", expansion},
          {"experts", experts},
          {"top_k", top_k},
          {"prompt_count", prompt_count},
          {"prompt_dim", prompt_dim},
          {"text_dim", text_dim},
          {"routing", routing},
          {"prompts", prompts},
          {"log_space_combine", log_space_combine},
          {"upsampling", upsampling},
          {"text_embedding_file", text_embedding_file}};
}

MagNetConfig MagNetConfig::from_json(const nlohmann::json& json) {
  ConfigSection read(json, "", "MAG-Net config");
  MagNetConfig c;
  if (read.get<std::string>("architecture", "magnet") != "magnet") {
    read.fail_key("architecture", "must be magnet");
  }
  c.dim = read.get("dim", c.dim);
  c.blocks = read.get("blocks", c.blocks);
  c.refinement = read.get("refinement", c.refinement);
  c.heads = read.get("heads", c.heads);
  c.expansion = read.get("expansion", c.expansion);
  c.experts = read.get("experts", c.experts);
  c.top_k = read.get("top_k", c.top_k);
  c.prompt_count = read.get("prompt_count", c.prompt_count);
  c.prompt_dim = read.get("prompt_dim", c.prompt_dim);
  c.text_dim = read.get("text_dim", c.text_dim);
  c.routing = read.get("routing", c.routing);
  c.prompts = read.get("prompts", c.prompts);
  c.log_space_combine = read.get("log_space_combine", c.log_space_combine);
  c.upsampling = read.get("upsampling", c.upsampling);
  c.text_embedding_file = read.get("text_embedding_file", c.text_embedding_file);
  read.finish();
  if (c.upsampling != "bilinear" && c.upsampling != "bicubic") {
    throw usage_error("MAG-Net 'upsampling' is bilinear or bicubic, not '" + c.upsampling + "'");
  }
  if (c.blocks.size() != kLevels || c.heads.size() != kLevels) {
    throw usage_error("MAG-Net 'blocks' and 'heads' need 4 entries (one per level)");
  }
  for (int64_t l = 0; l < kLevels; ++l) {
    if (c.blocks[l] < 1 || c.heads[l] < 1 || (c.dim << std::min<int64_t>(l, 3)) % c.heads[l] != 0) {
      throw usage_error("MAG-Net level " + std::to_string(l + 1) +
                        ": blocks >= 1 and heads dividing dim * 2^level");
    }
  }
  if (c.dim < 4 || c.dim % 2 != 0) throw usage_error("MAG-Net 'dim' must be even and >= 4");
  if (c.experts < 1 || c.top_k < 1 || c.top_k > c.experts) {
    throw usage_error("MAG-Net needs 1 <= top_k <= experts");
  }
  if (!(c.expansion > 0 && c.expansion <= 64) || c.refinement < 0 || c.prompt_count < 1 ||
      c.prompt_dim < 1 || c.text_dim < 1) {
    throw usage_error(
        "MAG-Net needs expansion in (0, 64], refinement >= 0 and positive prompt "
        "and text sizes");
  }
  constexpr double kMaxParameters = double(int64_t{1} << 29);
  if (c.parameter_bound() > kMaxParameters) {
    throw usage_error("MAG-Net config: up to " +
                      std::to_string(std::llround(c.parameter_bound() / 1e6)) +
                      " million parameters, more than srkit builds (" +
                      std::to_string(std::llround(kMaxParameters / 1e6)) +
                      " million): a damaged model file, or a config to make smaller");
  }
  return c;
}

double MagNetConfig::parameter_bound() const {
  // Per width w: a transformer block holds about (4 + 3 expansion) w^2 (attention and the gated
  // feed-forward), a router experts x 2 expansion w^2; the convolutions between levels, the
  // embeddings and the prompts are covered by the factor 2 and the prompt term.
  const double block = 4 + 3 * expansion;
  const double d = static_cast<double>(dim);
  double count = 0;
  for (size_t l = 0; l < blocks.size() && l < 4; ++l) {
    const double w = d * static_cast<double>(int64_t{1} << l);
    const double w_decoder = l == 0 ? 2 * d : w;
    if (l < 3) {
      count += static_cast<double>(experts) * 2 * expansion * w * w;  // router
      count += static_cast<double>(blocks[l]) * block * (w * w + w_decoder * w_decoder);
    } else {
      count += static_cast<double>(blocks[l]) * block * w * w;  // latent
    }
  }
  count += static_cast<double>(refinement) * block * 4 * d * d;
  count += static_cast<double>(prompt_count) * static_cast<double>(prompt_dim) * 64 +
           static_cast<double>(text_dim) * (8 * d + 512);
  return 2 * count;
}

MagNetConfig MagNetConfig::paper() {
  MagNetConfig c;
  c.dim = 42;
  c.blocks = {3, 4, 4, 5};
  c.refinement = 4;
  return c;
}

ImageFusionImpl::ImageFusionImpl(int64_t channels) {
  query_ = register_module("query", same_conv(channels, channels, 3));
  key_ = register_module("key", same_conv(channels, channels, 3));
  gate_x_ = register_module("gate_x", same_conv(2 * channels, 2, 3));
  gate_prior_ = register_module("gate_prior", same_conv(2 * channels, 2, 3));
  out_ = register_module("out", same_conv(2 * channels, channels, 3));
}

torch::Tensor ImageFusionImpl::forward(const torch::Tensor& x, const torch::Tensor& prior) {
  const auto a = torch::sigmoid(query_(x) * key_(prior));
  const auto xa = x * a, pa = prior * a;
  const auto gx = gate_x_(torch::cat({x, xa}, 1));
  const auto gp = gate_prior_(torch::cat({prior, pa}, 1));
  const auto x_out = x * gx.slice(1, 0, 1) + xa * gx.slice(1, 1, 2);
  const auto p_out = prior * gp.slice(1, 0, 1) + pa * gp.slice(1, 1, 2);
  return out_(torch::cat({x_out, p_out}, 1));
}

MagNetImpl::MagNetImpl(const MagNetConfig& config, const torch::Tensor& text_features)
    : config_(MagNetConfig::from_json(config.to_json())) {
  const int64_t c = config_.dim;
  // Text features: hashed from each task's description, unless the caller gives embeddings.
  torch::Tensor text = text_features;
  if (!text.defined()) {
    std::vector<torch::Tensor> rows;
    for (int t = 0; t < kGuidedTaskCount; ++t) {
      rows.push_back(hashed_text_features(guided_task_info(static_cast<GuidedTask>(t)).description,
                                          config_.text_dim));
    }
    text = torch::stack(rows);
  } else if (text.dim() != 2 || text.size(0) != kGuidedTaskCount ||
             text.size(1) != config_.text_dim) {
    throw usage_error("MAG-Net text embeddings must be [3, " + std::to_string(config_.text_dim) +
                      "]: one row per task (depth, pan, mri)");
  }
  fixed_text_ = register_buffer("fixed_text", text.to(torch::kFloat).clone());
  task_embedding_ =
      register_module("task_embedding", torch::nn::Embedding(kGuidedTaskCount, config_.text_dim));
  {
    torch::NoGradGuard no_grad;
    task_embedding_->weight.mul_(0.02);  // a small learned offset to the fixed features
  }

  std::vector<int64_t> target_channels, guide_channels;
  for (int t = 0; t < kGuidedTaskCount; ++t) {
    const auto& info = guided_task_info(static_cast<GuidedTask>(t));
    target_channels.push_back(info.target_channels);
    guide_channels.push_back(info.guide_channels);
    target_embed_->push_back(same_conv(info.target_channels, c, 3));
    guide_embed_->push_back(same_conv(info.guide_channels, c, 3));
    heads_->push_back(same_conv(2 * c, info.target_channels, 1));
  }
  register_module("target_embed", target_embed_);
  register_module("guide_embed", guide_embed_);
  register_module("heads", heads_);
  fusion_ = register_module("fusion", ImageFusion(c));
  if (config_.prompts) {
    prompt_ = register_module(
        "prompt", PromptGenerator(PromptOptions{target_channels, guide_channels, config_.text_dim,
                                                config_.prompt_count, config_.prompt_dim}));
  }
  for (int64_t l = 0; l < kLevels; ++l) {
    const int64_t width = c << l;
    if (l < kLevels - 1) {
      RouterOptions router;
      router.channels = width;
      router.prompt_dim = config_.prompts ? config_.prompt_dim : 0;
      router.experts = config_.routing ? config_.experts : 1;
      router.top_k = config_.routing ? config_.top_k : 1;
      router.expansion = config_.expansion;
      router.log_space_combine = config_.log_space_combine;
      routers_.push_back(register_module("router" + std::to_string(l + 1), ExpertRouter(router)));
      encoders_.push_back(register_module(
          "encoder" + std::to_string(l + 1),
          transformer_stage(width, config_.heads[l], config_.expansion, config_.blocks[l])));
      down_.push_back(register_module("down" + std::to_string(l + 1), Downsample(width)));
      if (l < kLevels - 2) {
        guide_down_.push_back(
            register_module("guide_down" + std::to_string(l + 1), Downsample(width)));
      }
    }
  }
  latent_ = register_module(
      "latent", transformer_stage(c << 3, config_.heads[3], config_.expansion, config_.blocks[3]));
  // Decoder levels 3, 2, 1: up, concatenate the skip, reduce (not at level 1), blocks.
  for (int64_t l = kLevels - 2; l >= 0; --l) {
    const int64_t below = c << (l + 1);
    up_.push_back(register_module("up" + std::to_string(l + 1), Upsample(below)));
    const int64_t width = l > 0 ? (c << l) : 2 * c;
    if (l > 0) {
      reduce_.push_back(
          register_module("reduce" + std::to_string(l + 1), same_conv(2 * (c << l), width, 1)));
    }
    decoders_.push_back(register_module(
        "decoder" + std::to_string(l + 1),
        transformer_stage(width, config_.heads[l], config_.expansion, config_.blocks[l])));
  }
  refinement_ = register_module(
      "refinement",
      transformer_stage(2 * c, config_.heads[0], config_.expansion, config_.refinement));
}

torch::Tensor MagNetImpl::text_feature(GuidedTask task) const {
  const int64_t t = static_cast<int64_t>(task);
  return fixed_text_[t] + task_embedding_->weight[t];
}

MagNetOutput MagNetImpl::forward(GuidedTask task, const torch::Tensor& target_lr,
                                 const torch::Tensor& guide) {
  const int64_t t = static_cast<int64_t>(task);
  const auto& info = guided_task_info(task);
  if (target_lr.dim() != 4 || guide.dim() != 4 || target_lr.size(1) != info.target_channels ||
      guide.size(1) != info.guide_channels) {
    throw usage_error("MAG-Net's " + info.name + " task takes a target of " +
                      std::to_string(info.target_channels) + " and a guide of " +
                      std::to_string(info.guide_channels) + " channels");
  }
  const int64_t n = guide.size(0), h = guide.size(2), w = guide.size(3);
  const auto up = config_.upsampling == "bicubic"
                      ? resize_bicubic(target_lr, h, w)
                      : torch::upsample_bilinear2d(target_lr, {h, w}, false);
  // Pad to a multiple of 8 (three halvings); the result is cropped back.
  const int64_t ph = (8 - h % 8) % 8, pw = (8 - w % 8) % 8;
  const auto pad = [&](const torch::Tensor& x) {
    return ph || pw ? torch::reflection_pad2d(x, {0, pw, 0, ph}) : x;
  };
  const auto up_padded = pad(up), guide_padded = pad(guide);

  const auto x = target_embed_[t]->as<torch::nn::Conv2d>()->forward(up_padded);
  auto guide_features = guide_embed_[t]->as<torch::nn::Conv2d>()->forward(guide_padded);
  auto features = fusion_(x, guide_features);
  torch::Tensor prompt;
  if (config_.prompts) {
    const auto text = text_feature(task).unsqueeze(0).expand({n, -1});
    prompt = prompt_(t, up_padded, guide_padded, text);
  }

  MagNetOutput out;
  out.balance_loss = torch::zeros({}, features.options());
  std::vector<torch::Tensor> skips;
  for (int64_t l = 0; l < kLevels - 1; ++l) {
    auto routed = routers_[l]->forward(features, guide_features, prompt);
    out.balance_loss = out.balance_loss + routed.balance_loss;
    out.gates.push_back(routed.gates);
    features = encoders_[l]->forward(routed.output);
    skips.push_back(features);
    features = down_[l](features);
    if (l < kLevels - 2) guide_features = guide_down_[l](guide_features);
  }
  features = latent_->forward(features);
  for (int64_t i = 0; i < kLevels - 1; ++i) {
    const int64_t l = kLevels - 2 - i;
    features = torch::cat({up_[i](features), skips[l]}, 1);
    if (l > 0) features = reduce_[i](features);
    features = decoders_[i]->forward(features);
  }
  features = refinement_->forward(features);
  const auto residual = heads_[t]->as<torch::nn::Conv2d>()->forward(features);
  out.image = residual.slice(2, 0, h).slice(3, 0, w) + up;
  return out;
}

int64_t MagNetImpl::parameter_count() const {
  int64_t count = 0;
  for (const auto& p : parameters()) count += p.numel();
  return count;
}

}  // namespace srkit
