#!/usr/bin/env bash
# srkit fp32 against its peers, same threads, in one run: ncnn's CPU build (fp32 storage and
# arithmetic, on a 128x128 crop of data/samples/astronaut.png) and PyTorch in its faster memory
# layout (Debian's python3-torch, bench/ncnn/pytorch_peer.py, 128x128 random input); srkit in the
# layout `srkit upscale` chooses (src/srkit/core/runtime.h); median seconds per x4 upscale
# of the network alone (srkit bench). Needs `make build`, build_ncnn.sh (run here) and, for the
# PyTorch column, `apt-get install python3-torch` (benchmark only; srkit never needs it).
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
printf '| model x4, 128x128, %s threads | srkit fp32 s | ncnn fp32 s | PyTorch fp32 s | ncnn / srkit | PyTorch / srkit |\n|---|---|---|---|---|---|\n' "$threads"
for model in realesrgan-x4fast realesrgan-x4plus; do
  "$srkit" bench --model "$model" --scale 4 --size 128 --warmup 1 --repeats 5 --threads "$threads" \
    --json -q > "$out/$model.json"
  ours=$(python3 -c "import json; print(json.load(open('$out/$model.json'))['model_run']['median_seconds'])")
  theirs=$("$runner" "models/$model/x4/model.param" "$out/input128.png" "$out/${model}_ncnn.png" \
    --scale 4 --threads "$threads" --repeat 5)
  torch_s=nan
  if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    torch_s=$(/usr/bin/python3 bench/ncnn/pytorch_peer.py "models/$model/x4/model.param" 128 \
      "$threads" 5)
  fi
  python3 -c "
o, n, t = $ours, $theirs, float('$torch_s')
print(f'| $model | {o:.3f} | {n:.3f} | {t:.3f} | {n/o:.2f} | {t/o:.2f} |')"
done
