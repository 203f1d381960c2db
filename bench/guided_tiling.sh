#!/usr/bin/env bash
# MAG-Net over large inputs (docs/guided.md "Large inputs"; needs `make build` and a trained model,
# default runs/magnet_bicubic_randomized_long/magnet_bicubic_randomized_long.srkit):
#   bash bench/guided_tiling.sh [MODEL]
# 1. Peak memory (max RSS) of whole-image runs at three guide sizes, 256^2, 512^2 and 1024^2
#    (data/samples/astronaut.png, 512^2, upscaled x2 by the default model, then MATLAB-bicubic
#    downscaled; task mri, scale 4, targets the guide downscaled x4): the slope is MAG-Net's activation bytes
#    per guide pixel, which sizes its tiles (kBytesPerPixelPerChannel in guided_model.cpp).
# 2. Tiled against whole at 1024^2: PSNR of the tiled result against the whole-image one (srkit
#    eval --task mri, both scaled by the whole result's maximum) for tiles of 64 and 128 target
#    pixels with 0, 16 and 32 pixels of context, and the tiled runs' peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
srkit=${SRKIT:-build/srkit}
model=${1:-runs/magnet_bicubic_randomized_long/magnet_bicubic_randomized_long.srkit}
work=out/guided_tiling
rm -rf "$work" && mkdir -p "$work"
"$srkit" upscale -q --model default -s 2 data/samples/astronaut.png -o "$work/guide_1024.png"
"$srkit" degrade -q -s 2 "$work/guide_1024.png" -o "$work/guide_512.png"
"$srkit" degrade -q -s 4 "$work/guide_1024.png" -o "$work/guide_256.png"
# A PNG's size from its header, checked against the side its name promises.
check_side() {
  python3 -c 'import struct, sys
w, h = struct.unpack(">II", open(sys.argv[1], "rb").read()[16:24])
sys.exit(0 if w == h == int(sys.argv[2]) else f"{sys.argv[1]} is {w}x{h}, not {sys.argv[2]}^2")' "$1" "$2"
}
peak_mb() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.0f", $1 / 1024}'; }
echo "whole image: guide pixels, peak RSS MB"
for side in 256 512 1024; do
  "$srkit" degrade -q -s 4 "$work/guide_$side.png" -o "$work/target_$side.png"
  check_side "$work/guide_$side.png" "$side"
  check_side "$work/target_$side.png" "$((side / 4))"
  mb=$(peak_mb "$srkit" guide -q --task mri --model "$model" --target "$work/target_$side.png" \
       --guide "$work/guide_$side.png" -o "$work/whole_$side.npy")
  echo "$((side * side)) $mb"
done
echo "tiled at 1024^2: tile, pad, PSNR against whole (dB), peak RSS MB"
for tile in 64 128; do
  for pad in 0 16 32; do
    out="$work/tiled_${tile}_$pad.npy"
    mb=$(peak_mb "$srkit" guide -q --task mri --model "$model" --target "$work/target_1024.png" \
         --guide "$work/guide_1024.png" --tile "$tile" --tile-pad "$pad" -o "$out")
    psnr=$("$srkit" eval --task mri --json "$out" "$work/whole_1024.npy" |
           python3 -c 'import json,sys; print(round(json.load(sys.stdin)["mean"]["psnr"], 2))')
    echo "$tile $pad $psnr $mb"
  done
done
