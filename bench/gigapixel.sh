#!/usr/bin/env bash
# Gigapixel outputs in bounded memory (issue 21): `srkit upscale` end to end (read, tiles, blend,
# encode) on a 4096x4096 photo mosaic to 16384x16384 PNG, and on an 8192x8192 one to 32768x32768
# TIFF, with the default --max-memory. Reports the peak resident memory of the whole process and
# the end-to-end throughput against `srkit bench`'s for the same model (the network alone, on one
# 256x256 input, median of 5), measured right before and right after the upscale: the ratio is to
# their mean, and both are shown, since a shared machine's speed drifts within minutes; and where
# the wall time went (the --json record's seconds_*), and the bound: the ratio the windows'
# context and the encoder's CPU time alone allow on this machine's cores. First, the runtime's
# own share of any budget: the peak of the same upscale of a 64x64 image.
#   bash bench/gigapixel.sh [CASE...]   CASE = MODEL:SIDE:EXT[:MAX_MEMORY], default: the three of
#                                       the issue, with the default --max-memory
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
srkit=${SRKIT:-build/srkit}
out=${OUT:-/tmp/srkit-gigapixel}
mkdir -p "$out"
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(esrgan-slim:4096:png realesrgan-x4fast:4096:png esrgan-slim:8192:tif)

g++ -O1 -std=c++17 bench/gigapixel/mosaic.cpp -o "$out/mosaic" $(pkg-config --cflags --libs opencv4)
photos=(data/samples/astronaut.png data/samples/chelsea.png data/samples/coffee.png
        data/samples/motorcycle_left.png data/samples/butterfly.png)

echo "CPU: $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) threads"
"$out/mosaic" "$out/mosaic_64.png" 64 "${photos[@]}" 2>/dev/null
python3 - "$srkit" "$out/mosaic_64.png" "$out/small_x4.png" <<'PY'
import resource, subprocess, sys
srkit, src, dst = sys.argv[1:]
subprocess.run([srkit, "upscale", src, "-o", dst, "--model", "esrgan-slim", "--scale", "4",
                "--overwrite", "-q"], check=True)
peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"runtime: peak RSS of esrgan-slim x4 on a 64x64 image: {peak_mb:.0f} MB")
PY
echo
echo "| model | input | output | --max-memory | peak RSS GB | wall s | end-to-end Mpx/s (input) | bench Mpx/s before / after | ratio | bound | s reading / model / blending and rounding / converting / encoding (its thread) / waiting for it / committing | encoder CPU s |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for spec in "${cases[@]}"; do
  IFS=: read -r model side ext budget <<<"$spec"
  input="$out/mosaic_$side.png"
  [ -f "$input" ] || "$out/mosaic" "$input" "$side" "${photos[@]}" 2>/dev/null
  result="$out/${model}_${side}_x4.$ext"
  python3 - "$srkit" "$model" "$input" "$result" "$side" "$ext" "${budget:-}" <<'PY'
import json, math, os, resource, subprocess, sys, time
srkit, model, src, dst, side, ext, budget = sys.argv[1:]
side = int(side)

def bench_mpx():
    run = subprocess.run([srkit, "bench", "--model", model, "--scale", "4", "--size", "256",
                          "--warmup", "1", "--repeats", "5", "--json", "-q"],
                         capture_output=True, text=True, check=True)
    return 256 * 256 / json.loads(run.stdout)["model_run"]["median_seconds"] / 1e6

before = bench_mpx()
start = time.monotonic()
run = subprocess.run([srkit, "upscale", src, "-o", dst, "--model", model, "--scale", "4",
                      "--overwrite", "--json", "-q"] + (["--max-memory", budget] if budget else []),
                     capture_output=True, text=True)
wall = time.monotonic() - start
if run.returncode != 0:
    sys.exit(f"srkit upscale failed: {run.stderr}")
peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 / 1e9
record = json.loads(run.stdout)["images"][0]
after = bench_mpx()
e2e_mpx = side * side / wall / 1e6
# The upscale's seconds less the model's, the input rows' reading (a PNG or TIFF input is read
# as the tiles need it) and the rows' handing to the writer (converting, waiting).
reading = record['seconds_reading'] + record['seconds_reading_rows']
rest = (record['seconds_upscaling'] - record['seconds_model'] - record['seconds_reading_rows'] -
        record['seconds_converting'] - record['seconds_waiting_for_encoding'])
# The best ratio this machine allows whatever the overlap, from two costs alone: the windows'
# context (evened tiles along an axis of S pixels compute S + 2 pad (n - 1) of it) at the network's
# own speed, and the encoder's CPU seconds, which it takes from the same cores.
bench = (before + after) / 2
windows = (side + 2 * record['tile_pad'] * (math.ceil(side / record['tile']) - 1)) ** 2
bound = (side * side / bench) / (windows / bench + record['cpu_seconds_encoding'] * 1e6 / os.cpu_count())
print(f"| {model} | {side}x{side} | {record['out_width']}x{record['out_height']} {ext.upper()}, "
      f"{record['tiles']} tiles of {record['tile']} | {budget or 'default'} "
      f"({record['memory']['budget'] / 2**30:.2f} GiB) | {peak_gb:.2f} | {wall:.1f} | {e2e_mpx:.3f} | "
      f"{before:.3f} / {after:.3f} | {2 * e2e_mpx / (before + after):.2f} | {bound:.2f} | "
      f"{reading:.1f} / {record['seconds_model']:.1f} / {rest:.1f} / "
      f"{record['seconds_converting']:.1f} / {record['seconds_encoding']:.1f} / "
      f"{record['seconds_waiting_for_encoding']:.1f} / {record['seconds_committing']:.1f} | "
      f"{record['cpu_seconds_encoding']:.1f} |")
PY
  rm -f "$result"
done
