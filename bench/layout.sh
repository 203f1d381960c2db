#!/usr/bin/env bash
# Channels-last against contiguous (NCHW) memory layout, per model family, in one run on this
# machine: the evidence behind prefer_channels_last (src/srkit/core/runtime.h). `srkit bench`
# times the network alone (fp32, no tiling, median of 5 after a warm-up) in each layout,
# alternating the two so that both see the same machine load.
#   bash bench/layout.sh [THREADS]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
threads=${1:-$(nproc)}
srkit=${SRKIT:-build/srkit}
cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
avx512=$(grep -m1 '^flags' /proc/cpuinfo | grep -qw avx512f && echo yes || echo no)
echo "CPU: $cpu, AVX-512F: $avx512, $threads threads; srkit upscale runs $(
  [ "$avx512" = yes ] && echo channels-last || echo contiguous) here"
echo
printf '| model | scale | input | channels-last s | contiguous s | channels-last / contiguous |\n'
printf '|---|---|---|---|---|---|\n'
seconds() {
  "$srkit" bench --model "$1" --scale "$2" --size "$3" --warmup 1 --repeats 5 \
    --threads "$threads" --layout "$4" --json -q |
    python3 -c "import json, sys; print(json.load(sys.stdin)['model_run']['median_seconds'])"
}
while read -r model scale size; do
  last=$(seconds "$model" "$scale" "$size" channels-last)
  nchw=$(seconds "$model" "$scale" "$size" contiguous)
  python3 -c "
print(f'| $model | x$scale | ${size}x${size} | {$last:.3f} | {$nchw:.3f} | {$last / $nchw:.2f} |')"
done <<'MODELS'
realesrgan-x4fast 4 128
realesrgan-x4plus 4 64
realcugan-conservative 2 128
waifu2x-cunet 2 128
esrgan-slim 4 128
esrgan-thick 4 128
MODELS
