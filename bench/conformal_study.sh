#!/usr/bin/env bash
# Confidence masks on real photos (docs/conformal.md, "Results"): calibrate a model on crops of the
# sample photos, then check the guarantee on crops of the held-out photos, with plots.
#   bash bench/conformal_study.sh [MODEL SCALE CROP]...   (default: default 2 96 esrgan-thick 4 128)
# Protocol: HR = lossless photos fetched by scripts/setup.sh; LR = MATLAB-compatible bicubic of each
# HR crop, rounded to 8 bits; score = 8-sample flip/rotation ensemble, Lab patch variance (5x5);
# fidelity = pointwise L1 in unit Lab (0..3). Calibration: data/samples; test: data/holdout.
set -euo pipefail
cd "$(dirname "$0")/.."
srkit=build/srkit
out=${SRKIT_STUDY_OUT:-docs/conformal}   # summaries and plots
files=out/conformal                      # calibration files (reproducible, not committed)
mkdir -p "$out" "$files"
runs=("$@")
[ ${#runs[@]} -eq 0 ] && runs=(default 2 96 esrgan-thick 4 128)
for ((i = 0; i < ${#runs[@]}; i += 3)); do
  model=${runs[i]} scale=${runs[i + 1]} crop=${runs[i + 2]}
  name="$model-x$scale"
  $srkit calibrate --model "$model" --scale "$scale" --data data/samples --crop "$crop" \
    --alpha 0.05,0.1,0.2 -o "$files/$name.calibration.json" --overwrite --json -q >"$out/$name.calibrate.json"
  $srkit conformal-eval --calibration "$files/$name.calibration.json" --data data/holdout \
    --plots "$out/$name" --json -q >"$out/$name.eval.json"
  python3 - "$out/$name.calibrate.json" "$out/$name.eval.json" <<'PY'
import json, sys
cal, ev = (json.load(open(p)) for p in sys.argv[1:3])
s = cal["seconds"]
print(f"{cal['model']['name']} x{cal['scale']:g}: n = {cal['images']} calibration units, "
      f"{ev['test']['units']} test units; model runs {s['model_runs']:.1f} s, "
      f"calibration {s['calibration']:.3f} s; whole-image PSNR {ev['psnr_whole']['mean']:.2f} dB")
print("| alpha | risk (95% CI) | trusted fraction | PSNR in mask (units) |")
print("|---|---|---|---|")
for r in ev["alphas"]:
    if r["alpha"] in (0.05, 0.1, 0.2, 0.3):
        k, t, p = r["risk"], r["trusted_fraction"], r["psnr_mask"]
        psnr = "n/a" if p["mean"] is None else f"{p['mean']:.2f} ({p['count']})"
        print(f"| {r['alpha']:g} | {k['mean']:.4f} [{k['ci95'][0]:.4f}, {k['ci95'][1]:.4f}] "
              f"| {t['mean']:.3f} | {psnr} |")
PY
done
