#!/usr/bin/env bash
# The one-step distillation evidence of docs/generative.md (issue 18, seed 002, ICM-SR; needs `make
# build`, scripts/setup.sh's data and an SFT flow model, by default the MSE run of training seed 2
# of bench/flow_study.sh: $ICM_SFT):
#   bash bench/icm_study.sh teachers   the structure-conditioned teachers: the SFT model fine-tuned
#                                      with an adapter on the colour map + edges, and on the dense
#                                      HR patch (configs/flow_x4_teacher_{icm,dense}.yaml, seed 1)
#   bash bench/icm_study.sh seed1      the three distillations of training seed 1: from the ICM
#                                      teacher, the dense one, and the SFT model itself (none)
#   bash bench/icm_study.sh seed2 / seed3   the same with training seeds 2 and 3
#   bash bench/icm_study.sh guidance   the ICM distillation of seed 1 with classifier-free guidance
#                                      $ICM_GUIDANCE (default 3) of the teacher (flow_icmcfg_seed1)
#   bash bench/icm_study.sh evaluate   the table (bench/flow_evaluate.sh: the SFT teacher at 1, 4 and
#                                      28 Euler steps, sampling seeds 0 and 1; every one-step run once;
#                                      bicubic, x4fast, x4plus), spectra, crop grid, and the gradient
#                                      and training-curve figures (bench/generative/icm_curves.py)
# Training budget (CPU, stated in docs/generative.md): each run is its shipped config
# (configs/flow_x4_teacher_{icm,dense}.yaml, configs/icm_x4{,_dense,_none}.yaml) with init =
# $ICM_SFT, the teachers' paths in this study's folder, data.seed = the training seed,
# schedule.steps = $TEACHER_STEPS (default 300) for the teachers and $DISTILL_STEPS (default 200)
# for the distillations, warmup a tenth of them; the runs of a part at once, one thread each. A GPU
# takes the configs as they ship (2000 steps).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/generative/train_runs.sh
srkit=${SRKIT:-build/srkit}
out=out/icm_study
sft=${ICM_SFT:-out/flow_study/flow_mse_seed2/flow_mse_seed2.srkit}
teacher_steps=${TEACHER_STEPS:-300}
distill_steps=${DISTILL_STEPS:-200}
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(teachers seed1 seed2 seed3 evaluate)
[ -f "$sft" ] || { echo "icm_study: no SFT model $sft (bash bench/flow_study.sh train2)" >&2; exit 2; }
mkdir -p "$out"

# config SOURCE NAME SEED STEPS [GUIDANCE]: writes the study's version of configs/SOURCE.yaml as NAME
# and prints its path.
config() {
  local source=configs/$1.yaml name=$2 seed=$3 steps=$4 guidance=${5:-1}
  sed -e "s|^name: .*|name: $name|" -e "s|^output: .*|output: $out/$name|" \
    -e "s|^  guidance: 1 |  guidance: $guidance |" \
    -e "s|^init: [^ ]*|init: $sft|" -e "s|^  seed: 1$|  seed: $seed|" \
    -e "s|^  steps: 2000$|  steps: $steps|" -e "s|^  warmup: .*|  warmup: $((steps / 10))|" \
    -e "s|^  teacher: runs/flow_x4_mse/flow_x4_mse.srkit|  teacher: $sft|" \
    -e "s|^  teacher: runs/flow_x4_\(teacher_[a-z]*\)/.*|  teacher: $out/\1/\1.srkit|" \
    "$source" >"$out/$name.yaml"
  grep -q "^  seed: $seed$" "$out/$name.yaml" && grep -q "^  steps: $steps$" "$out/$name.yaml" &&
    { ! grep -q "^  teacher: runs/" "$out/$name.yaml"; } ||
    { echo "icm_study: $source no longer has data.seed 1 / 2000 steps / a runs/ teacher" >&2; exit 2; }
  echo "$out/$name.yaml"
}

distil() {
  local seed=$1 icm dense none
  icm=$(config icm_x4 flow_icm_seed$seed "$seed" "$distill_steps")
  dense=$(config icm_x4_dense flow_dense_seed$seed "$seed" "$distill_steps")
  none=$(config icm_x4_none flow_none_seed$seed "$seed" "$distill_steps")
  train_runs "$srkit" "$out" 1 "$icm" "$dense" "$none"
}

guidance() {
  local cfg
  cfg=$(config icm_x4 flow_icmcfg_seed1 1 "$distill_steps" "${ICM_GUIDANCE:-3}")
  train_runs "$srkit" "$out" 2 "$cfg"
}

teachers() {
  local icm dense
  icm=$(config flow_x4_teacher_icm teacher_icm 1 "$teacher_steps")
  dense=$(config flow_x4_teacher_dense teacher_dense 1 "$teacher_steps")
  train_runs "$srkit" "$out" 1 "$icm" "$dense"
}

evaluate() {
  # The SFT model (the teacher of the unconditioned arm, the start of every generator) is the
  # table's sampled row.
  mkdir -p "$out/flow_sft_seed2"
  ln -sf "$(realpath "$sft")" "$out/flow_sft_seed2/flow_sft_seed2.srkit"
  FLOW_RUNS=$out FLOW_EVAL_OUT=out/icm_eval FLOW_EVAL_STEPS="1 4 28" FLOW_SAMPLING_SEEDS="0 1" \
    FLOW_PLOT="sft icm dense none" FLOW_PLOT_STEPS="1 28" FLOW_GRID_SEEDS=0 \
    FLOW_SPECTRA=docs/generative/icm_spectra.svg FLOW_GRID=docs/generative/icm_grid.png \
    bash bench/flow_evaluate.sh quality
  python3 bench/generative/icm_curves.py docs/generative/icm_gradient.svg \
    docs/generative/icm_curves.svg "$out"/flow_*_seed*/log.jsonl
}

for part in "${parts[@]}"; do
  case $part in
    teachers) teachers ;;
    seed[0-9]) distil "${part#seed}" ;;
    guidance) guidance ;;
    evaluate) evaluate ;;
    *) echo "icm_study: unknown part $part (teachers, seed1, seed2, seed3, guidance, evaluate)" >&2; exit 2 ;;
  esac
done
