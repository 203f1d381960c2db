#!/usr/bin/env bash
# PSNR-Y / SSIM-Y / LSD of every model against bicubic on the sample photos (data/samples).
#   bash bench/psnr_study.sh [SCALE]        (default 4; needs `make build`)
# Protocol: HR = the lossless sample photos, cropped to a multiple of SCALE; LR = MATLAB-compatible
# bicubic downscaling with antialiasing (srkit degrade), saved as 8-bit PNG; SR = srkit upscale at
# the model's native SCALE; metrics on BT.601 Y (0..255), border crop SCALE px, SSIM Gaussian
# 11x11 sigma 1.5; LSD on Y in [0,1]. Results: a table on stdout, JSON in out/psnr_study/.
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:-4}
srkit=${SRKIT:-build/srkit}
out=out/psnr_study/x$scale
rm -rf "$out" && mkdir -p "$out"
"$srkit" degrade data/samples -o "$out/lr" --scale "$scale" -q
models=(bicubic esrgan-slim esrgan-medium esrgan-thick)
[ "$scale" = 2 ] && models=(bicubic default esrgan-slim esrgan-medium esrgan-thick)
printf '| model (x%s) | PSNR-Y dB | SSIM-Y | LSD dB |\n|---|---|---|---|\n' "$scale"
for model in "${models[@]}"; do
  "$srkit" upscale "$out/lr" -o "$out/$model" --model "$model" --scale "$scale" -q
  "$srkit" eval "$out/$model" data/samples --scale "$scale" --json -q > "$out/$model.json"
  python3 -c "
import json,sys
m=json.load(open('$out/$model.json'))['mean']
print(f\"| $model | {m['psnr']:.3f} | {m['ssim']:.4f} | {m['lsd']:.3f} |\")"
done
echo
echo "images: $(ls data/samples | tr '\n' ' ')"
