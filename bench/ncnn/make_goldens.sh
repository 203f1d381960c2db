#!/usr/bin/env bash
# Makes the parity goldens of tests/integration/ncnn_parity_test.cpp: a 24x24 crop of a real photo
# (data/samples/chelsea.png, at x=150 y=95: an eye and fur) upscaled by every registered ncnn model with ncnn
# itself (fp32), with the conventions of each model's program, as 16-bit PNGs in
# tests/fixtures/ncnn/. The tests compare srkit against these files without building ncnn.
# Needs scripts/setup.sh to have run (the weights) and build_ncnn.sh (run here).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
runner=$(bash "$root/bench/ncnn/build_ncnn.sh" | tail -1)
out=$root/tests/fixtures/ncnn
mkdir -p "$out"
crop=$(dirname "$runner")/crop_png
"$crop" "$root/data/samples/chelsea.png" "$out/input.png" 150 95 24 24

# The programs' conventions (waifu2x-ncnn-vulkan, realcugan-ncnn-vulkan, realesrgan-ncnn-vulkan):
# edge-replicated border ("prepadding") and side alignment per model and scale.
golden() {  # NAME SCALE BORDER ALIGN [--add-nearest]
  local name=$1 scale=$2 border=$3 align=$4
  shift 4
  "$runner" "$root/models/$name/x$scale/model.param" "$out/input.png" "$out/${name}_x$scale.png" \
    --scale "$scale" --border "$border" --align "$align" --threads "$(nproc)" "$@"
  echo "golden: ${name}_x$scale.png" >&2
}
for m in realesrgan-x4plus realesrgan-x4fast realesrgan-x4plus-anime; do golden "$m" 4 0 1; done
for s in 2 3 4; do golden realesr-animevideov3 "$s" 0 1; done
for level in conservative no-denoise denoise3x; do
  golden "realcugan-$level" 2 18 2
  golden "realcugan-$level" 3 14 4
  golden "realcugan-$level" 4 19 2 --add-nearest
done
for level in denoise1x denoise2x; do golden "realcugan-$level" 2 18 2; done
golden waifu2x-cunet 2 18 2
golden waifu2x-upconv7 2 7 1
for n in 0 1 2 3; do
  golden "waifu2x-cunet-noise$n" 1 28 4
  golden "waifu2x-cunet-noise$n" 2 18 2
  golden "waifu2x-upconv7-noise$n" 2 7 1
done
