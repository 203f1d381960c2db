#!/usr/bin/env bash
# What one velocity of a flow model holds per window pixel (FlowUNetImpl::peak_bytes_per_pixel):
# `srkit upscale` of the astronaut (512x512 -> 2048x2048) with one Euler step in windows of two
# sizes, forced by --tile; the peak RSS slope between them over the windows' pixels. The model is
# the CPU configuration after 2 training steps (its weights do not change what is held).
#   bash bench/flow_memory.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
srkit=${SRKIT:-build/srkit}
out=${OUT:-/tmp/srkit-flow-memory}
mkdir -p "$out"
sed -e "s|^output: .*|output: $out/run|" -e "s|^name: .*|name: flow_memory|" \
  configs/flow_x4_mse.yaml > "$out/flow_memory.yaml"
"$srkit" train --config "$out/flow_memory.yaml" --stop-after 2 -q
model="$out/run/flow_memory.srkit"
python3 - "$srkit" "$model" "$out" <<'PY'
import json, resource, subprocess, sys
srkit, model, out = sys.argv[1:]
peaks = {}
for tile in (64, 160):
    run = subprocess.run([srkit, "upscale", "data/samples/astronaut.png", "-o", f"{out}/x.png",
                          "--model", model, "--steps", "1", "--tile", str(tile), "--overwrite",
                          "--json", "-q"], capture_output=True, text=True, check=True)
    # ru_maxrss of children is the largest child so far: run the smaller window first.
    peaks[tile] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    radius = json.loads(run.stdout)["model"]["receptive_radius"] * 4
    context = -(-int(radius) // 4) * 4
    window = 4 * tile + 2 * context
    peaks[tile] = (peaks[tile], window)
    print(f"tile {tile} (windows up to {window}x{window} output pixels): peak RSS "
          f"{peaks[tile][0] / 1e9:.2f} GB")
(p1, w1), (p2, w2) = peaks[64], peaks[160]
print(f"slope: {(p2 - p1) / (w2 * w2 - w1 * w1):.0f} bytes per window pixel")
PY
