#!/usr/bin/env bash
# The evidence of docs/generative.md for the flow-matching upscaler (needs `make build` and
# scripts/setup.sh's data, including data/photos):
#   bash bench/flow_study.sh train      trains configs/flow_x4_{mse,sobolev}.yaml with seeds 1 and 2
#   bash bench/flow_study.sh plain1     the MSE config without the residual parameterisation
#                                       (model.residual: false; flow_plain_seed1), training seed 1
#   bash bench/flow_study.sh plain2     the same with training seed 2
#   bash bench/flow_study.sh evaluate   the table, spectra, spread and crop grid of the trained runs
# Training budget (CPU, stated in docs/generative.md): each run is its config with data.seed = the
# training seed and schedule.steps = $FLOW_STEPS (default 2000; batch 8 of 96 px patches, EMA
# 0.999), two runs at a time with one thread each ($FLOW_THREADS). A GPU takes the configs as they
# ship (20000 steps) or larger (FlowUNetOptions::gpu).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/generative/train_runs.sh
srkit=${SRKIT:-build/srkit}
out=out/flow_study
steps=${FLOW_STEPS:-2000}
threads=${FLOW_THREADS:-1}
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(train evaluate)
mkdir -p "$out"

# config VARIANT SEED: writes the study's config of one run and prints its path. VARIANT is a
# loss (mse, sobolev: the shipped configs) or plain (the MSE config with model.residual: false).
# The study's runs are bounded by $FLOW_STEPS, not by the configs' time limit.
config() {
  local variant=$1 seed=$2 name=flow_${1}_seed$2 source=configs/flow_x4_$1.yaml
  [ "$variant" = plain ] && source=configs/flow_x4_mse.yaml
  sed -e "s|^name: .*|name: $name|" -e "s|^output: .*|output: $out/$name|" \
    -e "s|^  seed: 1$|  seed: $seed|" -e "s|^  steps: 20000$|  steps: $steps|" \
    -e "s|^  time_limit_minutes: .*|  time_limit_minutes: 0|" \
    "$source" >"$out/$name.yaml"
  [ "$variant" = plain ] && sed -i -e "s|^  residual: true .*|  residual: false|" "$out/$name.yaml"
  grep -q "^  seed: $seed$" "$out/$name.yaml" && grep -q "^  steps: $steps$" "$out/$name.yaml" &&
    { [ "$variant" != plain ] || grep -q "^  residual: false$" "$out/$name.yaml"; } ||
    { echo "flow_study: $source no longer has data.seed 1 / 20000 steps / residual: true" >&2; exit 2; }
  echo "$out/$name.yaml"
}

# train VARIANT:SEED...: the runs at once (one thread each), each resumed when its checkpoint
# exists.
train() {
  local run cfgs=()
  for run in "$@"; do cfgs+=("$(config "${run%%:*}" "${run##*:}")"); done
  train_runs "$srkit" "$out" "$threads" "${cfgs[@]}"
}

for part in "${parts[@]}"; do
  case $part in
    train) train mse:1 sobolev:1; train mse:2 sobolev:2 ;;
    train1) train mse:1 sobolev:1 ;;
    train2) train mse:2 sobolev:2 ;;
    plain1) train plain:1 ;;
    plain2) train plain:2 ;;
    # What one session of two cores held: the second seed of both losses and the plain run.
    train2+plain1) train mse:2 sobolev:2 plain:1 ;;
    evaluate) bash bench/flow_evaluate.sh ;;
    *) echo "flow_study: unknown part $part (train, train1, train2, plain1, plain2, train2+plain1, evaluate)" >&2; exit 2 ;;
  esac
done
