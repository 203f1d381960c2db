// One-step distillation of the rectified-flow model by variational score distillation (seed 002,
// ICM-SR, on OSEDiff's recipe), a step of the one training loop with two updates per step:
//
//  1. the generator G (a flow U-Net started from init; train/flow_step.h's SFT model) maps the
//     upsampled LR patch to x_hat in one evaluation (models/one_step_flow_model.h); its loss is the
//     configured reconstruction terms on the image ([-1,1]) plus vsd_weight x the VSD term
//     (train/score_distillation.h) with x0_real from the frozen teacher (distill.teacher:
//     conditioned on the structure of the HR patch, of the LR or of G's output, or not at all;
//     classifier-free guidance optional) and x0_fake from the fake score, at a level
//     s ~ U[level_min, level_max];
//  2. the fake score (the teacher + a LoRA adapter, distill.fake, with the same structure) learns
//     G's outputs by the flow loss at a level drawn as flow training draws it.
//
// The teacher and the fake score are one network: the adapter disabled is the teacher. The
// export is the one-step model; each log record carries every sample's VSD level, gradient RMS
// and normaliser since the previous record (this process's: the conditioning study's plot).
//
//   distill: {teacher: runs/flow_x4_teacher_icm/flow_x4_teacher_icm.srkit, vsd_weight: 1}
#pragma once

#include <memory>
#include <vector>

#include <ATen/core/Generator.h>

#include "srkit/models/flow_model.h"
#include "srkit/nn/lora.h"
#include "srkit/train/flow_tuning.h"
#include "srkit/train/structure_teacher.h"
#include "srkit/train/train_config.h"
#include "srkit/train/training_loop.h"
#include "srkit/train/validation.h"

namespace srkit {

class DistillationStep : public TrainingStep {
 public:
  DistillationStep(const TrainConfig& config, ProcessGroup& group);

  std::vector<std::pair<std::string, torch::nn::Module*>> modules() override;
  std::vector<StepUpdate> updates() override;
  StepLosses losses(size_t update, int64_t step) override;
  nlohmann::json log_record(const torch::Tensor& values) const override;
  nlohmann::json log_updates(const std::vector<torch::Tensor>& values) const override;
  int64_t patches_per_step() const override { return config_.batch; }
  nlohmann::json state(int world_size) const override;
  void restore(const nlohmann::json& state, int world_size) override;
  void export_model(const std::filesystem::path& path, int64_t steps) override;
  nlohmann::json validate() override;

 private:
  StepLosses generator_losses(int64_t step);
  StepLosses fake_score_losses();
  // The teacher's velocity (the fake adapter disabled) or the fake score's (enabled).
  torch::Tensor velocity(bool fake, const torch::Tensor& x_s, const torch::Tensor& level,
                         const torch::Tensor& keep = {});

  const TrainConfig& config_;
  TrainingBatches batches_;
  InitialFlowModel base_;  // G's start
  FlowTeacher teacher_;
  FlowUNet generator_{nullptr};
  Lora fake_{nullptr};
  std::unique_ptr<LoraStack> stack_;  // on the teacher's network: the fake adapter
  std::unique_ptr<torch::optim::Optimizer> generator_optimizer_, fake_optimizer_;
  std::unique_ptr<ValidationSet> validation_;
  int rank_ = 0, world_ = 1;

  // Of the current step, from update 1 to update 2.
  at::Generator generator_draws_;
  torch::Tensor rows_, condition_, x_hat_, structure_image_;
  std::vector<torch::Tensor> structure_;
  // Each sample's [level, gradient RMS, normaliser] since the last log record (this rank's).
  mutable std::vector<std::vector<double>> samples_;
};

}  // namespace srkit
