#!/usr/bin/env bash
# docs/models.md, "Which pixels of a GAN upscale can be trusted": conformal confidence masks
# (docs/conformal.md) for realesrgan-x4plus on real-world degradations. Calibrated on 128x128 HR
# crops of the colour photos of data/samples (camera.png is gray: the Real-ESRGAN pipeline makes
# colour LR of it) degraded by the Real-ESRGAN pipeline (seed 300..), evaluated on crops of
# the held-out photos degraded with seeds 100.. (the first set of bench/quality/real_world.sh),
# at alpha 0.1 and 0.2. The model runs 8 times on each of 68 calibration and 64 evaluation crops:
# about 8 minutes with realesrgan-x4plus on a quiet 2-core machine, 1 minute with
# `bash bench/quality/conformal_gan.sh realesrgan-x4fast`.
#   bash bench/quality/conformal_gan.sh [MODEL]
set -euo pipefail
cd "$(dirname "$0")/../.."
srkit=build/srkit
out=out/quality
model=${1:-realesrgan-x4plus}
mkdir -p "$out/cal_hr"
for photo in astronaut butterfly chelsea coffee motorcycle_left motorcycle_right; do
  cp "data/samples/$photo.png" "$out/cal_hr/"
done
rm -rf "$out/cal_lr"
"$srkit" degrade "$out/cal_hr" -o "$out/cal_lr" --pipeline realesrgan --scale 4 --seed 300 \
  --overwrite -q
"$srkit" degrade data/holdout -o "$out/lr_s100" --pipeline realesrgan --scale 4 --seed 100 \
  --overwrite -q
"$srkit" calibrate --model "$model" --data "$out/cal_hr" --lr "$out/cal_lr" --crop 128 \
  --alpha 0.1,0.2 -o "$out/$model.calibration.json" --overwrite -q
"$srkit" conformal-eval --calibration "$out/$model.calibration.json" --data data/holdout \
  --lr "$out/lr_s100" --alpha 0.1,0.2 --json -q > "$out/$model.conformal.json"
jq -r '.' "$out/$model.conformal.json" | head -80
