#!/usr/bin/env bash
# srkit fp32 against ncnn's CPU build (fp32 storage and arithmetic) on the same 128x128 crop of a
# photo (data/samples/astronaut.png), same threads, in one run: median seconds per x4 upscale of
# the network alone (srkit bench; ncnn_upscale --repeat). Needs `make build` and build_ncnn.sh.
#   bash bench/ncnn/ncnn_speed.sh [THREADS]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
threads=${1:-$(nproc)}
srkit=${SRKIT:-build/srkit}
runner=$(bash bench/ncnn/build_ncnn.sh | tail -1)
out=out/bench/ncnn
mkdir -p "$out"
"$(dirname "$runner")/crop_png" data/samples/astronaut.png "$out/input128.png" 192 64 128 128
printf '| model x4, 128x128, %s threads | srkit fp32 s | ncnn fp32 s | ncnn / srkit |\n|---|---|---|---|\n' "$threads"
for model in realesrgan-x4fast realesrgan-x4plus; do
  "$srkit" bench --model "$model" --scale 4 --size 128 --warmup 1 --repeats 5 --threads "$threads" \
    --json -q > "$out/$model.json"
  ours=$(python3 -c "import json; print(json.load(open('$out/$model.json'))['model_run']['median_seconds'])")
  theirs=$("$runner" "models/$model/x4/model.param" "$out/input128.png" "$out/${model}_ncnn.png" \
    --scale 4 --threads "$threads" --repeat 5)
  python3 -c "print(f'| $model | {$ours:.3f} | {$theirs:.3f} | {$theirs/$ours:.2f} |')"
done
