#!/usr/bin/env bash
# Speed of every model at x4 on a 128x128 input, as a fraction of this machine's own fp32 peak
# measured in the same run (srkit bench). JSON per model in out/bench/.
#   bash bench/run_benchmarks.sh            (needs `make build`)
set -euo pipefail
cd "$(dirname "$0")/.."
srkit=${SRKIT:-build/srkit}
out=out/bench
mkdir -p "$out"
printf '| model x4, 128x128 | GFLOP/image | median s | GFLOP/s | conv peak GFLOP/s | ratio |\n|---|---|---|---|---|---|\n'
for model in esrgan-slim esrgan-medium esrgan-thick; do
  "$srkit" bench --model "$model" --scale 4 --size 128 --warmup 2 --repeats 7 --json -q > "$out/$model.json"
  python3 -c "
import json
b=json.load(open('$out/$model.json'))
r=b['model_run']; p=b['conv_peak']
print(f\"| $model | {r['gflop']:.1f} | {r['median_seconds']:.4f} | {r['gflops']:.1f} | {p['gflops']:.1f} | {b['ratio_to_conv_peak']:.2f} |\")"
done

# End to end on a real photo: read, tile, run, blend, write (astronaut.png, 512x512 -> 2048x2048),
# with the default tiling. Effective GFLOP/s counts only the model's nominal work on the image.
echo
printf '| model x4, astronaut 512x512 | tile | tiles | seconds | effective GFLOP/s | ratio to conv peak |\n|---|---|---|---|---|---|\n'
for model in esrgan-slim esrgan-medium esrgan-thick; do
  "$srkit" upscale data/samples/astronaut.png -o "$out/astronaut_$model.png" --model "$model" \
    --scale 4 --overwrite --json -q > "$out/photo_$model.json"
  python3 -c "
import json
r=json.load(open('$out/photo_$model.json')); i=r['images'][0]
peak=json.load(open('$out/$model.json'))['conv_peak']['gflops']
g=r['model']['flops_per_input_pixel']*i['width']*i['height']/1e9
print(f\"| $model | {i['tile']} | {i['tiles']} | {i['seconds']:.2f} | {g/i['seconds']:.1f} | {g/i['seconds']/peak:.2f} |\")"
done

# What the memory measures buy on a whole photo (esrgan-medium x4, astronaut): one tile vs the
# automatic tiles, and glibc's transparent huge pages off (srkit sets them on by restarting itself
# with GLIBC_TUNABLES=glibc.malloc.hugetlb=1 unless the variable already names the tunable).
echo
printf '| esrgan-medium x4, astronaut | seconds |\n|---|---|\n'
run_medium() {  # LABEL ENV ARGS...
  local label=$1 env=$2
  shift 2
  env $env "$srkit" upscale data/samples/astronaut.png -o "$out/ablation.png" --model esrgan-medium \
    --scale 4 --overwrite --json -q "$@" > "$out/ablation.json"
  python3 -c "
import json
i=json.load(open('$out/ablation.json'))['images'][0]
print(f\"| $label (tile {i['tile']}, {i['tiles']} tiles) | {i['seconds']:.2f} |\")"
}
run_medium "automatic tiles, huge pages" ""
run_medium "one tile, huge pages" "" --tile 512
run_medium "one tile, no huge pages" "GLIBC_TUNABLES=glibc.malloc.hugetlb=0" --tile 512
