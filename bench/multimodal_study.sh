#!/usr/bin/env bash
# The evidence of docs/multimodal.md (issue 19, seed 000, M3ESR; needs `make build` and
# scripts/setup.sh's data):
#   bash bench/multimodal_study.sh train [ARM...]   trains each arm at each training seed: ARMs
#       dynamic (M3ESR: per-pixel weights, cosine temperature 2.0 -> 0.5), adaptive (the same with
#       the contribution-scaled temperatures), fixed (per-pixel weights, tau 1), static (equal
#       weights), scalar (learned global weights), concat (all maps into one expert), none (the
#       backbone alone); default all. Seeds $MM_SEEDS (default "1 2").
#   bash bench/multimodal_study.sh evaluate   the quality table, the robustness table, the alignment
#       plot (docs/multimodal/alignment.svg) and the weight maps (docs/multimodal/weights_CROP.png:
#       red = edges, green = segmentation; crops $MM_WEIGHT_CROPS, default "graf1_0 graf1_1")
# Training budget (CPU, stated in docs/multimodal.md): each run is its shipped config
# (configs/m3esr_x4*.yaml) with data.seed = the training seed, schedule.steps = $MM_STEPS (default
# 1500), warmup 100, no time limit; two runs at once, one thread each. A GPU takes the configs as
# they ship (3000 steps; raise features and batch there).
# Protocol: held-out HR = two 256 px crops of each data/holdout photo (the centre and the centre of
# the upper-left quarter; never used in training or choices), LR = the Real-ESRGAN pipeline x4,
# seed 100 (srkit degrade); PSNR-Y/SSIM-Y (BT.601, 4 px border), LSD, BRISQUE, NIQE (srkit eval);
# the maps are computed from the LR crop (ops/modality_maps.h).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/generative/train_runs.sh
srkit=${SRKIT:-build/srkit}
out=out/multimodal_study
seeds=${MM_SEEDS:-1 2}
steps=${MM_STEPS:-1500}
all_arms=(dynamic adaptive fixed static scalar concat none)
mkdir -p "$out" docs/multimodal

# config ARM SEED: writes the study's version of the arm's shipped config and prints its path.
config() {
  local arm=$1 seed=$2 source=configs/m3esr_x4.yaml name=mm_$1_seed$2
  [ "$arm" = dynamic ] || source=configs/m3esr_x4_$arm.yaml
  sed -e "s|^name: .*|name: $name|" -e "s|^output: .*|output: $out/$name|" \
    -e "s|^  seed: 1$|  seed: $seed|" -e "s|^  steps: 3000$|  steps: $steps|" \
    -e "s|^  time_limit_minutes: .*|  time_limit_minutes: 0|" -e "s|^  every: 500$|  every: $steps|" \
    "$source" >"$out/$name.yaml"
  grep -q "^  seed: $seed$" "$out/$name.yaml" && grep -q "^  steps: $steps$" "$out/$name.yaml" ||
    { echo "multimodal_study: $source no longer has data.seed 1 / 3000 steps" >&2; exit 2; }
  echo "$out/$name.yaml"
}

train() {
  local arms=("$@") configs=() arm seed
  [ ${#arms[@]} -eq 0 ] && arms=("${all_arms[@]}")
  for seed in $seeds; do
    for arm in "${arms[@]}"; do configs+=("$(config "$arm" "$seed")"); done
  done
  # Two at once, one thread each.
  local i
  for ((i = 0; i < ${#configs[@]}; i += 2)); do
    train_runs "$srkit" "$out" 1 "${configs[@]:i:2}"
  done
}

models() {
  local arm seed m
  for arm in "${all_arms[@]}"; do
    for seed in $seeds; do
      m=$out/mm_${arm}_seed$seed/mm_${arm}_seed$seed.srkit
      [ -f "$m" ] && echo "$m"
    done
  done
}

evaluate() {
  local eval=out/multimodal_eval m label
  mkdir -p "$eval"
  g++ -O2 -std=c++17 bench/generative/spectra.cpp -o "$eval/spectra" $(pkg-config --cflags --libs opencv4)
  g++ -O1 -std=c++17 bench/quality/crop_grid.cpp -o "$eval/crop_grid" $(pkg-config --cflags --libs opencv4)
  g++ -O2 -std=c++17 -Isrc -I/usr/include/torch/csrc/api/include bench/multimodal/robustness.cpp \
    -o "$eval/robustness" -Lbuild -lsrkit_io -lsrkit_core -ltorch -ltorch_cpu -lc10 \
    $(pkg-config --cflags --libs opencv4) -Wl,-rpath,"$PWD/build"
  rm -rf "$eval/hr" "$eval/lr"
  "$eval/spectra" crops "$eval/hr" 256 data/holdout/*.png
  "$srkit" degrade "$eval/hr" -o "$eval/lr" --pipeline realesrgan --scale 4 --seed 100 -q
  mapfile -t trained < <(models)
  [ ${#trained[@]} -gt 0 ] || { echo "multimodal_study: no trained runs in $out (train first)" >&2; exit 2; }
  local labels=()
  for m in bicubic realesrgan-x4fast "${trained[@]}"; do
    label=$(basename "$m" .srkit)
    rm -rf "${eval:?}/$label"
    "$srkit" upscale "$eval/lr" -o "$eval/$label" --model "$m" --scale 4 --threads 2 -q --json \
      >"$eval/$label.upscale.json"
    "$srkit" eval "$eval/$label" "$eval/hr" --scale 4 --json -q >"$eval/$label.eval.json"
    "$srkit" eval --no-reference "$eval/$label" --json -q >"$eval/$label.noref.json"
    labels+=("$label")
  done
  "$eval/robustness" "$eval/hr" "$eval/lr" "${trained[@]}" >"$eval/robustness.jsonl"
  python3 bench/multimodal/tables.py "$eval" "${labels[@]}"
  python3 bench/multimodal/alignment.py docs/multimodal/alignment.svg "$out" $seeds
  # Weight maps: three crops, the dynamic and adaptive runs of the first seed.
  local seed=${seeds%% *} name
  for arm in dynamic adaptive; do
    m=$out/mm_${arm}_seed$seed/mm_${arm}_seed$seed.srkit
    [ -f "$m" ] || continue
    rm -rf "$eval/weights_$arm" "$eval/sr_$arm"
    "$srkit" upscale "$eval/lr" -o "$eval/sr_$arm" --model "$m" --weights-map "$eval/weights_$arm" -q
  done
  local grid
  for name in ${MM_WEIGHT_CROPS:-graf1_0 graf1_1}; do
    grid=("LR x4 (nearest)=$eval/lr/$name.png")
    for arm in dynamic adaptive; do
      [ -d "$eval/weights_$arm" ] &&
        grid+=("$arm: weights=$eval/weights_$arm/$name.png" "$arm: output=$eval/sr_$arm/$name.png")
    done
    grid+=("HR=$eval/hr/$name.png")
    "$eval/crop_grid" "docs/multimodal/weights_$name.png" 0 0 256 1 "${grid[@]}"
  done
}

part=${1:-}
[ -n "$part" ] && shift
case $part in
  train) train "$@" ;;
  evaluate) evaluate ;;
  *) echo "usage: bash bench/multimodal_study.sh train [ARM...] | evaluate" >&2; exit 2 ;;
esac
