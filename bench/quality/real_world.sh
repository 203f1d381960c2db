#!/usr/bin/env bash
# docs/models.md, "Quality on real-world photos": x4 upscalers on photos with real-world damage.
#  1. The held-out photos (data/holdout) degraded by the Real-ESRGAN pipeline, seeds 100.. and
#     200.. (one per photo and set): PSNR-Y/SSIM-Y (4 px border crop), LSD, BRISQUE, NIQE against
#     the HR photos, the mean over both sets.
#  2. Real JPEG photos without references (data/realworld, opencv-doc): BRISQUE and NIQE of the
#     x4 outputs, and a crop grid (docs/models/real_world_grid.png) of every model whose outputs
#     are in out/quality (so a run with one MODEL adds it to the grid of an earlier full run).
# Prints markdown tables on stdout. About 30 minutes on 2 cores (the GAN models dominate).
#   bash bench/quality/real_world.sh [MODEL...]
set -euo pipefail
cd "$(dirname "$0")/../.."
srkit=build/srkit
out=out/quality
mkdir -p "$out" docs/models
models=("$@")
all_models=(bicubic esrgan-thick idealo-gans realesrgan-x4fast realesrgan-x4plus)
[ ${#models[@]} -gt 0 ] || models=("${all_models[@]}")

g++ -O1 -std=c++17 bench/quality/crop_grid.cpp -o "$out/crop_grid" $(pkg-config --cflags --libs opencv4)

echo "| model | PSNR-Y dB | SSIM-Y | LSD dB | BRISQUE | NIQE |"
echo "|---|---|---|---|---|---|"
for seed in 100 200; do
  "$srkit" degrade data/holdout -o "$out/lr_s$seed" --pipeline realesrgan --scale 4 --seed $seed \
    --overwrite -q
done
for model in "${models[@]}"; do
  for seed in 100 200; do
    "$srkit" upscale "$out/lr_s$seed" -o "$out/${model}_s$seed" --model "$model" --scale 4 \
      --overwrite -q
    "$srkit" eval "$out/${model}_s$seed" data/holdout --scale 4 --json -q > "$out/${model}_s$seed.ref.json"
    "$srkit" eval --no-reference "$out/${model}_s$seed" --json -q > "$out/${model}_s$seed.nr.json"
  done
  jq -rs --arg model "$model" '
    def m(k): (map(.mean[k]) | add / length);
    (.[0:2] | [m("psnr"), m("ssim"), m("lsd")]) as $ref | (.[2:4] | [m("brisque"), m("niqe")]) as $nr
    | "| \($model) | \($ref[0]*100|round/100) | \($ref[1]*10000|round/10000) | \($ref[2]*100|round/100) | \($nr[0]*10|round/10) | \($nr[1]*100|round/100) |"' \
    "$out/${model}_s100.ref.json" "$out/${model}_s200.ref.json" \
    "$out/${model}_s100.nr.json" "$out/${model}_s200.nr.json"
done

echo
echo "| model | BRISQUE | NIQE |"
echo "|---|---|---|"
"$srkit" eval --no-reference data/realworld --json -q > "$out/realworld_input.nr.json"
jq -r '"| input (no upscaling) | \(.mean.brisque*10|round/10) | \(.mean.niqe*100|round/100) |"' \
  "$out/realworld_input.nr.json"
for model in "${models[@]}"; do
  "$srkit" upscale data/realworld -o "$out/real_$model" --model "$model" --scale 4 \
    --format png --overwrite -q
  "$srkit" eval --no-reference "$out/real_$model" --json -q > "$out/real_$model.nr.json"
  jq -r --arg model "$model" \
    '"| \($model) | \(.mean.brisque*10|round/10) | \(.mean.niqe*100|round/100) |"' \
    "$out/real_$model.nr.json"
done

# The grid: a 240x240 region of messi5.jpg x4 (his face and shirt; 60x60 input pixels).
grid=("input (nearest)=data/realworld/messi5.jpg")
for model in "${all_models[@]}"; do
  if [ -f "$out/real_$model/messi5.png" ]; then grid+=("$model=$out/real_$model/messi5.png"); fi
done
"$out/crop_grid" docs/models/real_world_grid.png 800 380 240 1 "${grid[@]}"
