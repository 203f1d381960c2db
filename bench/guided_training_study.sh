#!/usr/bin/env bash
# MAG-Net evidence of docs/guided.md (needs `make build` and data/guided):
#   bash bench/guided_training_study.sh [train] [eval] [tables]   (default: train eval)
# train: configs/magnet_all_in_one.yaml, the one-by-one configs magnet_{depth,pan,mri}.yaml (each
#        the all-in-one run's share of batches for its task) and the ablations
#        magnet_no_routing.yaml and magnet_no_prompts.yaml, magnet_bicubic.yaml (all-in-one with a
#        bicubic residual base), magnet_bicubic_long.yaml (the same, 4800 steps) and
#        magnet_bicubic_randomized.yaml and magnet_bicubic_randomized_long.yaml (1800 and 4800
#        steps with randomised synthetic guides) with its one-by-one twins
#        magnet_randomized_long_{depth,pan,mri}.yaml (1600 steps each), one after the other
#        (2 cores: 12-19 min for each 1800-step all-in-one run, ~30-50 min for each long one,
#        6-8 min for each 600-step one-by-one run, 13-16 min for each 1600-step one).
# eval:  every model on its tasks' test split with `srkit guide --benchmark` (same protocols as
#        bench/guided_study.sh), the all-in-one model's expert usage plot, and markdown tables of
#        the dataset means with the best classical method of out/guided_study (run
#        bench/guided_study.sh first for that column).
# Results: JSON in out/guided_training_study/, tables on stdout, plot docs/guided/expert_usage.png.
set -euo pipefail
cd "$(dirname "$0")/.."
srkit=${SRKIT:-build/srkit}
out=out/guided_training_study
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(train eval)
mkdir -p "$out" docs/guided
models="all_in_one depth pan mri no_routing no_prompts bicubic bicubic_long bicubic_randomized bicubic_randomized_long
  randomized_long_depth randomized_long_pan randomized_long_mri"

# Markdown tables of the dataset means: classical (out/guided_study) and every evaluated model.
print_tables() {
  python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
def means(path, task):
    doc = json.load(open(path))
    entry = next(t for t in doc["tasks"] if t["task"] == task)
    return {(run["scale"], r["scene"][5:]): r["metrics"]
            for run in entry["runs"] for r in run["rows"] if r["scene"].startswith("mean ")}, entry
classical = ["bicubic", "joint-bilateral", "guided-filter", "fast-global-smoother"]
for task, keys in (("depth", ["rmse"]), ("pan", ["psnr", "sam", "ergas", "q2n", "scc"]),
                   ("mri", ["psnr", "ssim"])):
    methods = classical + (["brovey", "gihs", "gram-schmidt"] if task == "pan" else [])
    rows = {}
    for m in methods:
        path = f"out/guided_study/{task}_{m}.json"
        if os.path.exists(path):
            rows[m] = means(path, task)[0]
    for m, label in ((task, "MAG-Net one-by-one"), ("all_in_one", "MAG-Net all-in-one"),
                     ("no_routing", "all-in-one, no routing"), ("no_prompts", "all-in-one, no prompts"),
                     ("bicubic", "all-in-one, bicubic base"),
                     ("bicubic_long", "all-in-one, bicubic base, 4800 steps"),
                     ("bicubic_randomized", "all-in-one, bicubic base, randomised guides"),
                     ("bicubic_randomized_long", "all-in-one, bicubic base, randomised guides, 4800 steps"),
                     (f"randomized_long_{task}", "one-by-one, bicubic base, randomised guides, 1600 steps")):
        if os.path.exists(f"{out}/eval_{m}.json"):
            rows[label] = means(f"{out}/eval_{m}.json", task)[0]
    for key in rows["MAG-Net all-in-one"]:
        print(f"\n{task} x{key[0]}, {key[1]}")
        print("| method | " + " | ".join(keys) + " |")
        print("|---|" + "---|" * len(keys))
        for label, table in rows.items():
            values = table[key]
            print(f"| {label} | " + " | ".join("inf" if values[k] is None else f"{values[k]:.4f}"
                                               for k in keys) + " |")
    usage = means(f"{out}/eval_all_in_one.json", task)[1].get("expert_usage")
    if usage:
        print(f"\n{task} expert usage (all-in-one, fraction of picks per level): "
              + json.dumps([[round(f, 3) for f in level] for level in usage]))
PY
}

for part in "${parts[@]}"; do
  case $part in
    train)
      for m in $models; do
        "$srkit" train --config "configs/magnet_$m.yaml" --json -q > "$out/train_$m.json"
        python3 -c "
import json; r=json.load(open('$out/train_$m.json'))
print(f'trained magnet_$m: {r[\"step\"]} steps in {r[\"seconds\"]:.0f} s ({r[\"patches_per_second\"]:.1f} patches/s)')"
      done ;;
    eval)
      for m in all_in_one no_routing no_prompts bicubic bicubic_long bicubic_randomized bicubic_randomized_long; do
        [ -f "runs/magnet_$m/magnet_$m.srkit" ] || { echo "no runs/magnet_$m model: skipped" >&2; continue; }
        extra=()
        [ "$m" = all_in_one ] && extra=(--usage-plot docs/guided/expert_usage.png)
        "$srkit" guide --benchmark --task all --model "runs/magnet_$m/magnet_$m.srkit" --json -q \
          "${extra[@]}" > "$out/eval_$m.json"
      done
      for t in depth pan mri; do  # one-by-one models, on their own task
        for m in "$t" "randomized_long_$t"; do
          [ -f "runs/magnet_$m/magnet_$m.srkit" ] || { echo "no runs/magnet_$m model: skipped" >&2; continue; }
          "$srkit" guide --benchmark --task "$t" --model "runs/magnet_$m/magnet_$m.srkit" --json -q \
            > "$out/eval_$m.json"
        done
      done
      print_tables
      ;;
    tables) print_tables ;;
    *) echo "unknown part $part (train, eval, tables)" >&2; exit 2 ;;
  esac
done
