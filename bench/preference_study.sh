#!/usr/bin/env bash
# The preference-alignment evidence of docs/generative.md (issue 17, seed 001; needs `make build`,
# scripts/setup.sh's data and an SFT flow model, by default the MSE run of training seed 2 of
# bench/flow_study.sh: $PREFERENCE_SFT):
#   bash bench/preference_study.sh adversaries   the AS-DPO adversaries: LoRA rank 16 on the SFT model
#                                                imitating realesrgan-x4plus and div2k-rdn (seed 1)
#   bash bench/preference_study.sh dpo1          Euclidean DPO and S-DPO, training seed 1
#   bash bench/preference_study.sh dpo2          the same, training seed 2
#   bash bench/preference_study.sh asdpo1        AS-DPO with each adversary, training seed 1
#   bash bench/preference_study.sh asdpo2        the same, training seed 2
#   bash bench/preference_study.sh evaluate      the table, spectra and crop grid (bench/flow_evaluate.sh,
#                                                28 Euler steps, sampling seeds $PREFERENCE_SAMPLING_SEEDS,
#                                                default "0 1") and the DPO curves
# Training budget (CPU, stated in docs/generative.md): each run is its shipped config
# (configs/flow_x4_{adversary_x4plus,adversary_rdn,dpo_euclidean,sdpo,asdpo,asdpo_rdn}.yaml) with
# init = $PREFERENCE_SFT, data.seed = the training seed, schedule.steps = $ADVERSARY_STEPS for the
# adversaries (default 250) and $PREFERENCE_STEPS for the DPO runs (default 150; batch 8 of 96 px
# patches) and warmup = a fifth of them (the authors' 200 of 1000), two runs at a time with one
# thread each. A GPU takes the configs as they ship (1000 steps).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/generative/train_runs.sh
srkit=${SRKIT:-build/srkit}
out=out/preference_study
sft=${PREFERENCE_SFT:-out/flow_study/flow_mse_seed2/flow_mse_seed2.srkit}
adversary_steps=${ADVERSARY_STEPS:-250}
dpo_steps=${PREFERENCE_STEPS:-150}
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(adversaries dpo1 asdpo1 dpo2 asdpo2 evaluate)
[ -f "$sft" ] || { echo "preference_study: no SFT model $sft (bash bench/flow_study.sh train2)" >&2; exit 2; }
mkdir -p "$out"

# config VARIANT SEED: writes the study's config of one run and prints its path. Adversaries are
# named adversary_BASELINE_seedN (not flow_*: the evaluation's glob leaves them out).
config() {
  local variant=$1 seed=$2 source=configs/flow_x4_$1.yaml name steps=$dpo_steps
  case $variant in
    adversary_*) name=${variant}_seed$seed steps=$adversary_steps ;;
    *) name=flow_${variant}_seed$seed ;;
  esac
  sed -e "s|^name: .*|name: $name|" -e "s|^output: .*|output: $out/$name|" \
    -e "s|^init: .*|init: $sft|" -e "s|^  seed: 1$|  seed: $seed|" \
    -e "s|^  steps: 1000 .*|  steps: $steps|" -e "s|^  warmup: .*|  warmup: $((steps / 5))|" \
    -e "s|^  adversary: runs/flow_x4_\(adversary_[a-z0-9]*\)/.*|  adversary: $out/\1_seed1/\1_seed1.lora.srkit|" \
    "$source" >"$out/$name.yaml"
  grep -q "^  seed: $seed$" "$out/$name.yaml" && grep -q "^  steps: $steps$" "$out/$name.yaml" &&
    { ! grep -q "^  adversary: runs/" "$out/$name.yaml"; } ||
    { echo "preference_study: $source no longer has data.seed 1 / 1000 steps / a runs/ adversary" >&2; exit 2; }
  echo "$out/$name.yaml"
}

# train VARIANT:SEED...: the runs at once (one thread each), each resumed when its checkpoint
# exists and skipped when finished.
train() {
  local run cfgs=()
  for run in "$@"; do cfgs+=("$(config "${run%%:*}" "${run##*:}")"); done
  train_runs "$srkit" "$out" 1 "${cfgs[@]}"
}

evaluate() {
  # The SFT model is the table's first flow row.
  mkdir -p "$out/flow_sft_seed2"
  ln -sf "$(realpath "$sft")" "$out/flow_sft_seed2/flow_sft_seed2.srkit"
  FLOW_RUNS=$out FLOW_EVAL_OUT=out/preference_eval FLOW_EVAL_STEPS=28 \
    FLOW_SAMPLING_SEEDS=${PREFERENCE_SAMPLING_SEEDS:-0 1} \
    FLOW_PLOT="sft dpo_euclidean sdpo asdpo asdpo_rdn" FLOW_PLOT_STEPS=28 FLOW_GRID_SEEDS=0 \
    FLOW_SPECTRA=docs/generative/preference_spectra.svg FLOW_GRID=docs/generative/preference_grid.png \
    bash bench/flow_evaluate.sh quality
  python3 bench/generative/dpo_curves.py docs/generative/preference_curves.svg "$out"/flow_*_seed*/log.jsonl
}

for part in "${parts[@]}"; do
  case $part in
    adversaries) train adversary_x4plus:1 adversary_rdn:1 ;;
    dpo1) train dpo_euclidean:1 sdpo:1 ;;
    dpo2) train dpo_euclidean:2 sdpo:2 ;;
    asdpo1) train asdpo:1 asdpo_rdn:1 ;;
    asdpo2) train asdpo:2 asdpo_rdn:2 ;;
    evaluate) evaluate ;;
    *) echo "preference_study: unknown part $part (adversaries, dpo1, dpo2, asdpo1, asdpo2, evaluate)" >&2; exit 2 ;;
  esac
done
