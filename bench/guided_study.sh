#!/usr/bin/env bash
# The guided-SR tables of docs/guided.md (needs `make build` and scripts/setup.sh's data/guided):
#   bash bench/guided_study.sh [SPLIT]        (default: test)
# Runs every applicable method (`srkit guide --benchmark`) on every task at the protocol's scales
# and prints one markdown table per task: the dataset means of each metric. Protocols (also
# printed by srkit): depth = bicubic x4/x8/x16 of the map with unknown pixels filled, RMSE in the
# map's units on a 6-pixel-cropped map over known pixels; pan = Wald protocol x4 (MTF-matched
# Gaussian, Nyquist gain 0.3; real pans brought to the MS grid with gain 0.15), metrics on the
# scene's [0,1] scale; mri = k-space centre crop x2/x4, PSNR/SSIM on 0..255, no crop.
# Results: tables on stdout, JSON per task and method in out/guided_study/.
set -euo pipefail
cd "$(dirname "$0")/.."
srkit=${SRKIT:-build/srkit}
split=${1:-test}
out=out/guided_study
mkdir -p "$out"

filters="bicubic joint-bilateral guided-filter fast-global-smoother"
for task in depth pan mri; do
  methods=$filters
  [ "$task" = pan ] && methods="$filters brovey gihs gram-schmidt"
  for method in $methods; do
    "$srkit" guide --benchmark --task "$task" --method "$method" --split "$split" --json -q \
      > "$out/${task}_${method}.json"
  done
  python3 - "$out" "$task" $methods <<'PY'
import json, sys
out, task, methods = sys.argv[1], sys.argv[2], sys.argv[3:]
runs = {m: json.load(open(f"{out}/{task}_{m}.json"))["tasks"][0]["runs"] for m in methods}
first = runs[methods[0]]
for run_index, run in enumerate(first):
    means = [r for r in run["rows"] if r["scene"].startswith("mean ")]
    for mean in means:
        metrics = [k for k in mean["metrics"] if k not in ("compared", "unknown")]
        print(f"\n{task} x{run['scale']}, {mean['scene'][5:]}"
              + (f" ({int(mean['metrics']['compared'])} known px, {int(mean['metrics']['unknown'])} unknown)"
                 if "compared" in mean["metrics"] else ""))
        print("| method | " + " | ".join(metrics) + " |")
        print("|---|" + "---|" * len(metrics))
        for m in methods:
            row = next(r for r in runs[m][run_index]["rows"] if r["scene"] == mean["scene"])
            values = [row["metrics"][k] for k in metrics]
            print(f"| {m} | " + " | ".join("inf" if v is None else f"{v:.4f}" for v in values) + " |")
PY
done
