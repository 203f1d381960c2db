#include "srkit/train/distillation_step.h"

#include <cmath>

#include <torch/torch.h>

#include "srkit/core/error.h"
#include "srkit/models/one_step_flow_model.h"
#include "srkit/nn/layers.h"
#include "srkit/ops/structure_conditions.h"
#include "srkit/train/flow_step.h"
#include "srkit/train/score_distillation.h"

namespace srkit {
namespace {

const char* kFake = "fake_score";

void check_same_flow(const FlowModelSettings& a, const FlowModelSettings& b,
                     const TrainConfig& config) {
  if (a.scale != b.scale || a.residual != b.residual || a.residual_scale != b.residual_scale) {
    throw usage_error(config.source.string() + ": distill.teacher " +
                      config.distill.teacher.string() + " and init " + config.init +
                      " are flows of different spaces (scale, residual, residual_scale): "
                      "distil from a teacher fine-tuned from the init model");
  }
}

}  // namespace

DistillationStep::DistillationStep(const TrainConfig& config, ProcessGroup& group)
    : config_(config),
      batches_(config, group.rank(), group.world_size()),
      base_(read_initial_flow_model(config)),
      teacher_(read_flow_teacher(config.distill.teacher, config, "distill.teacher")),
      generator_(base_.network),
      rank_(group.rank()),
      world_(group.world_size()) {
  check_same_flow(base_.settings, teacher_.settings, config);
  if (config.distill.guidance != 1 && !teacher_.conditioned) {
    throw usage_error(config.source.string() +
                      ": distill.guidance needs a teacher conditioned on structure (an "
                      "unconditioned teacher has nothing to guide by); set it to 1");
  }
  const int64_t multiple = generator_->size_multiple();
  if (config.patches.patch % multiple != 0) {
    throw usage_error(config.source.string() + ": data.patch must be a multiple of " +
                      std::to_string(multiple) + " (the network's size multiple)");
  }
  std::filesystem::create_directories(config.output);
  torch::manual_seed(config.seed);
  generator_->train();
  stack_ = std::make_unique<LoraStack>(*teacher_.network);
  try {
    fake_ = Lora(*teacher_.network, config.distill.fake, config.seed);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kUsage) throw;
    throw usage_error(config.source.string() + ": distill.fake: " + e.what());
  }
  stack_->add(kFake, fake_);
  set_channels_last(*generator_, true);
  set_channels_last(teacher_.conditioned ? static_cast<torch::nn::Module&>(*teacher_.conditioned)
                                         : *teacher_.network,
                    true);
  generator_optimizer_ = make_optimizer(config, generator_->parameters());
  fake_optimizer_ = make_optimizer(config, fake_->parameters());
  group.broadcast(generator_->parameters());
  group.broadcast(fake_->parameters());
  if (!config.val_folder.empty() && group.rank() == 0) {
    validation_ = std::make_unique<ValidationSet>(config.val_folder, config.scale, config.val_crop);
  }
}

std::vector<std::pair<std::string, torch::nn::Module*>> DistillationStep::modules() {
  return {{"generator", generator_.get()}, {"fake_score", fake_.get()}};  // the teacher: a file
}

std::vector<StepUpdate> DistillationStep::updates() {
  return {{generator_optimizer_.get(), generator_->parameters()},
          {fake_optimizer_.get(), fake_->parameters()}};
}

torch::Tensor DistillationStep::velocity(bool fake, const torch::Tensor& x_s,
                                         const torch::Tensor& level, const torch::Tensor& keep) {
  stack_->set_enabled(kFake, fake);
  stack_->apply();  // in grad mode a graph to the fake adapter; else constants
  const auto x = x_s.contiguous(torch::MemoryFormat::ChannelsLast);
  if (teacher_.conditioned) {
    return teacher_.conditioned->forward(x, condition_, level, structure_, keep);
  }
  return teacher_.network->forward(x, condition_, level);
}

StepLosses DistillationStep::losses(size_t update, int64_t step) {
  return update == 0 ? generator_losses(step) : fake_score_losses();
}

StepLosses DistillationStep::generator_losses(int64_t step) {
  const auto& distill = config_.distill;
  const auto batch = batches_.next();
  condition_ =
      flow_condition(batch.lr, base_.settings).contiguous(torch::MemoryFormat::ChannelsLast);
  x_hat_ = one_step_generate(*generator_, condition_, base_.settings, distill.generator_level);
  const auto image = flow_image(x_hat_, condition_, base_.settings);
  auto reconstruction = compute_loss(config_.losses, image * 2 - 1, batch.hr * 2 - 1);

  // The structure the teacher and the fake score see.
  if (teacher_.conditioned) {
    const auto source = distill.source == "gt"   ? batch.hr
                        : distill.source == "lr" ? (condition_ + 1) * 0.5
                                                 : image.detach();
    structure_ = structure_conditions(source.clamp(0, 1), teacher_.conditioning);
    for (auto& map : structure_) map = map.contiguous(torch::MemoryFormat::ChannelsLast);
  }

  // The levels and noise of the whole batch over all ranks, this rank's rows (as FlowStep).
  generator_draws_ = step_generator(config_.seed, step);
  auto shape = x_hat_.sizes().vec();
  shape[0] = config_.batch;
  rows_ = torch::arange(x_hat_.size(0), torch::kLong) * world_ + rank_;
  const auto level =
      (distill.level_min + (distill.level_max - distill.level_min) *
                               torch::rand({config_.batch}, generator_draws_, x_hat_.options()))
          .index_select(0, rows_);
  const auto noise = torch::randn(shape, generator_draws_, x_hat_.options()).index_select(0, rows_);
  const auto s = level.view({-1, 1, 1, 1});
  const auto x_s = (1 - s) * x_hat_.detach() + s * noise;
  torch::Tensor x0_real, x0_fake;
  {
    torch::NoGradGuard no_grad;
    auto real = velocity(false, x_s, level);
    if (distill.guidance != 1) {
      const auto dropped = torch::zeros({x_s.size(0)}, x_s.options());
      real = guided_velocity(real, velocity(false, x_s, level, dropped), distill.guidance);
    }
    x0_real = flow_clean_estimate(x_s, real, level);
    x0_fake = flow_clean_estimate(x_s, velocity(true, x_s, level), level);
  }
  const auto grad = vsd_gradient(x_hat_, x0_real, x0_fake);
  const auto vsd = vsd_loss(x_hat_, grad);

  const auto rms = grad.pow(2).mean({1, 2, 3}).sqrt();
  const auto normaliser = (x_hat_.detach() - x0_real).abs().mean({1, 2, 3});
  for (int64_t k = 0; k < level.size(0); ++k) {
    samples_.push_back(
        {level[k].item<double>(), rms[k].item<double>(), normaliser[k].item<double>()});
  }
  std::vector<double> values = reconstruction.terms;
  values.push_back(vsd.item<double>());
  values.push_back(rms.mean().item<double>());
  values.push_back(normaliser.mean().item<double>());
  return {reconstruction.total + distill.vsd_weight * vsd, torch::tensor(values, torch::kDouble)};
}

StepLosses DistillationStep::fake_score_losses() {
  // The fake score learns G's outputs as flow training learns photos: logit-normal levels.
  const auto x = x_hat_.detach();
  auto shape = x.sizes().vec();
  shape[0] = config_.batch;
  const auto noise = torch::randn(shape, generator_draws_, x.options()).index_select(0, rows_);
  const auto level = torch::sigmoid(config_.logit_mean +
                                    config_.logit_std * torch::randn({config_.batch},
                                                                     generator_draws_, x.options()))
                         .index_select(0, rows_);
  const auto s = level.view({-1, 1, 1, 1});
  const auto x_s = (1 - s) * x + s * noise;
  const auto loss = torch::mse_loss(velocity(true, x_s, level), noise - x);
  stack_->release();
  return {loss, torch::tensor({loss.item<double>()}, torch::kDouble)};
}

nlohmann::json DistillationStep::log_record(const torch::Tensor& values) const {
  const auto k = static_cast<int64_t>(config_.losses.size());
  auto record = nlohmann::json{
      {"epoch", batches_.last_epoch()},
      {"terms", loss_terms_record(config_.losses, values.slice(0, 0, k))},
      {"vsd", values[k].item<double>()},
      {"vsd_grad_rms", values[k + 1].item<double>()},
      {"vsd_normaliser", values[k + 2].item<double>()},
  };
  // This rank's samples since the last record: [level, gradient RMS, normaliser] each.
  record["vsd_samples"] = samples_;
  samples_.clear();
  return record;
}

nlohmann::json DistillationStep::log_updates(const std::vector<torch::Tensor>& values) const {
  auto record = log_record(values.front());
  record["fake_score_loss"] = values.at(1)[0].item<double>();
  return record;
}

nlohmann::json DistillationStep::state(int /*world_size*/) const { return batches_.state(); }

void DistillationStep::restore(const nlohmann::json& state, int /*world_size*/) {
  batches_.restore(state);
  set_channels_last(*generator_, true);
}

void DistillationStep::export_model(const std::filesystem::path& path, int64_t steps) {
  const auto& distill = config_.distill;
  nlohmann::json about = {
      {"name", config_.name},
      {"trained_by", "srkit train"},
      {"config", config_.source.filename().string()},
      {"steps", steps},
      {"base", base_.identity},
      {"teacher", teacher_.identity},
      {"distillation",
       {{"structure", teacher_.conditioned ? teacher_.conditioning.kind : std::string("none")},
        {"source", distill.source},
        {"vsd_weight", distill.vsd_weight},
        {"guidance", distill.guidance},
        {"levels", {distill.level_min, distill.level_max}}}}};
  save_one_step_flow_model(path, *generator_, base_.settings, distill.generator_level, about);
}

nlohmann::json DistillationStep::validate() {
  if (!validation_) return nullptr;
  torch::NoGradGuard no_grad;
  const bool was_training = generator_->is_training();
  OneStepFlowModel model(generator_, base_.settings, config_.distill.generator_level,
                         {{"name", config_.name}}, "");  // puts it in eval mode
  model.prepare(torch::kCPU, true);
  const auto scores = validation_->evaluate(
      [&](const torch::Tensor& lr) { return model.forward(lr.unsqueeze(0))[0]; });
  generator_->train(was_training);
  auto record = to_json(scores);
  record["steps"] = 1;
  return record;
}

}  // namespace srkit
