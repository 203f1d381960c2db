#!/usr/bin/env bash
# Confidence masks of large images in bounded memory (issue 21, item 3): `srkit upscale
# --calibration --mask --overlay` on a photo mosaic (bench/gigapixel/mosaic.cpp), which scores a
# window of the input at a time and writes the output, its mask and its overlay as rows. Reports
# the peak resident memory of the whole process, the wall time, and the same image's plain upscale
# (no mask) for scale: the mask costs M = 8 model runs per pixel and the windows' context.
# The calibration: esrgan-slim x4 on 96x96 crops of two sample photos (a fixture for the memory
# and time figures, not a guarantee to quote).
#   bash bench/gigapixel_masks.sh [SIDE[:MAX_MEMORY]...]   default: 2048 and 4096, default budget
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
srkit=${SRKIT:-build/srkit}
out=${OUT:-/tmp/srkit-gigapixel}
mkdir -p "$out/calibration"
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(2048 4096)

g++ -O1 -std=c++17 bench/gigapixel/mosaic.cpp -o "$out/mosaic" $(pkg-config --cflags --libs opencv4)
photos=(data/samples/astronaut.png data/samples/chelsea.png data/samples/coffee.png
        data/samples/motorcycle_left.png data/samples/butterfly.png)
cp data/samples/astronaut.png data/samples/coffee.png "$out/calibration/"
"$srkit" calibrate --model esrgan-slim --scale 4 --data "$out/calibration" --crop 96 \
  --alpha 0.1 -o "$out/calibration.json" --overwrite -q

echo "CPU: $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) threads"
echo
echo "| input | output | --max-memory | windows (side + context) | peak RSS GB | wall s | trusted | plain upscale: peak RSS GB, wall s | wall ratio |"
echo "|---|---|---|---|---|---|---|---|---|"
for spec in "${cases[@]}"; do
  IFS=: read -r side budget <<<"$spec"
  input="$out/mosaic_$side.png"
  [ -f "$input" ] || "$out/mosaic" "$input" "$side" "${photos[@]}" 2>/dev/null
  python3 - "$srkit" "$input" "$out" "$side" "$out/calibration.json" "${budget:-}" <<'PY'
import json, os, resource, subprocess, sys, time
srkit, src, out, side, calibration, budget = sys.argv[1:]
side = int(side)
limit = ["--max-memory", budget] if budget else []

def run(args):
    """Runs srkit in a child of its own; returns (record, peak RSS GB, wall s)."""
    child = os.fork()
    if child == 0:  # a fresh child, so that its peak is its own
        start = time.monotonic()
        done = subprocess.run([srkit] + args + ["--overwrite", "--json", "-q"] + limit,
                              capture_output=True, text=True)
        if done.returncode != 0:
            sys.stderr.write(done.stderr)
            os._exit(1)
        wall = time.monotonic() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / 1e9
        with open(f"{out}/masks_run.json", "w") as f:
            json.dump({"record": json.loads(done.stdout)["images"][0], "peak": peak,
                       "wall": wall}, f)
        os._exit(0)
    _, status = os.waitpid(child, 0)
    if status != 0:
        sys.exit("srkit failed")
    with open(f"{out}/masks_run.json") as f:
        result = json.load(f)
    return result["record"], result["peak"], result["wall"]

masked, peak, wall = run(["upscale", src, "-o", f"{out}/masked_{side}.png", "--model",
                          "esrgan-slim", "--scale", "4", "--calibration", calibration,
                          "--alpha", "0.1", "--mask", f"{out}/mask_{side}.png", "--overlay",
                          f"{out}/overlay_{side}.png"])
plain, plain_peak, plain_wall = run(["upscale", src, "-o", f"{out}/plain_{side}.png", "--model",
                                     "esrgan-slim", "--scale", "4"])
window = masked["scoring_window"]
print(f"| {side}x{side} | {masked['out_width']}x{masked['out_height']} PNG + mask + overlay | "
      f"{budget or 'default'} ({masked['memory']['budget'] / 2**30:.2f} GiB) | "
      f"{window if window else 'one'} + {masked['scoring_context']} | {peak:.2f} | {wall:.1f} | "
      f"{100 * masked['trusted_fraction']:.1f} % | {plain_peak:.2f}, {plain_wall:.1f} | "
      f"{wall / plain_wall:.1f} |")
for name in ("masked", "mask", "overlay", "plain"):
    path = f"{out}/{name}_{side}.png"
    if os.path.exists(path):
        os.remove(path)
PY
done
