#!/usr/bin/env bash
# The evidence of docs/generative.md for the flow-matching upscaler (needs `make build` and
# scripts/setup.sh's data, including data/photos):
#   bash bench/flow_study.sh train      trains configs/flow_x4_{mse,sobolev}.yaml with seeds 1 and 2
#   bash bench/flow_study.sh evaluate   the table, spectra, spread and crop grid of the trained runs
# Training budget (CPU, stated in docs/generative.md): each run is its config with data.seed = the
# training seed and schedule.steps = $FLOW_STEPS (default 2000; batch 8 of 96 px patches, EMA
# 0.999), two runs at a time with one thread each ($FLOW_THREADS). A GPU takes the configs as they
# ship (20000 steps) or larger (FlowUNetOptions::gpu).
set -euo pipefail
cd "$(dirname "$0")/.."
srkit=${SRKIT:-build/srkit}
out=out/flow_study
steps=${FLOW_STEPS:-2000}
threads=${FLOW_THREADS:-1}
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(train evaluate)
mkdir -p "$out"

# config LOSS SEED: writes the study's config of one run and prints its path.
config() {
  local loss=$1 seed=$2 name=flow_${1}_seed$2
  sed -e "s|^name: .*|name: $name|" -e "s|^output: .*|output: $out/$name|" \
    -e "s|^  seed: 1$|  seed: $seed|" -e "s|^  steps: 20000$|  steps: $steps|" \
    "configs/flow_x4_$loss.yaml" >"$out/$name.yaml"
  grep -q "^  seed: $seed$" "$out/$name.yaml" && grep -q "^  steps: $steps$" "$out/$name.yaml" ||
    { echo "flow_study: configs/flow_x4_$loss.yaml no longer has data.seed 1 / 20000 steps" >&2; exit 2; }
  echo "$out/$name.yaml"
}

# train_pair SEED: both losses at once (one thread each), resumed when a checkpoint exists.
train_pair() {
  local seed=$1 pids=() loss cfg name resume
  for loss in mse sobolev; do
    cfg=$(config "$loss" "$seed")
    name=$(basename "$cfg" .yaml)
    resume=()
    [ -f "$out/$name/checkpoint.pt" ] && resume=(--resume)
    "$srkit" train --config "$cfg" "${resume[@]}" --threads "$threads" --json \
      >"$out/train_$name.json" 2>"$out/train_$name.log" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
}

for part in "${parts[@]}"; do
  case $part in
    train) train_pair 1; train_pair 2 ;;
    train1) train_pair 1 ;;
    train2) train_pair 2 ;;
    evaluate) bash bench/flow_evaluate.sh ;;
    *) echo "flow_study: unknown part $part (train, train1, train2, evaluate)" >&2; exit 2 ;;
  esac
done
