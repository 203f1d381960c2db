#!/usr/bin/env bash
# How the default score settings were chosen (docs/conformal.md, "Choice of the score kernel"):
# on the sample photos only, never the held-out ones. Calibrate the default model x2 on crops of
# four photos, evaluate on crops of the other three, for several score kernels, smoothing, shifts
# and input noise; print risk and trusted fraction at alpha 0.05, 0.1, 0.2.
#   bash bench/conformal_score_choice.sh
set -euo pipefail
cd "$(dirname "$0")/.."
srkit=build/srkit
work=out/conformal_choice
rm -rf "$work" && mkdir -p "$work/a" "$work/b"
for f in astronaut camera chelsea coffee; do cp "data/samples/$f.png" "$work/a/"; done
for f in motorcycle_left motorcycle_right butterfly; do cp "data/samples/$f.png" "$work/b/"; done
try() {  # LABEL FLAGS...
  local label=$1
  shift
  $srkit calibrate --model default --data "$work/a" --crop 96 --alpha 0.1 "$@" \
    -o "$work/calib.json" --overwrite -q
  $srkit conformal-eval --calibration "$work/calib.json" --data "$work/b" --alpha 0.05,0.1,0.2 \
    --json -q | python3 -c "
import json, sys
d = json.load(sys.stdin)
print('| $label | ' + ' | '.join('%.4f / %.3f' % (r['risk']['mean'], r['trusted_fraction']['mean'])
                                 for r in d['alphas']) + ' |')"
}
echo "| score | alpha 0.05: risk / trusted | alpha 0.1 | alpha 0.2 |"
echo "|---|---|---|---|"
for k in 1 5 9; do
  for b in 0 2 6; do try "box $k, blur $b" --score-kernel "$k" --score-blur "$b"; done
done
try "box 5, shift 0.25" --score-kernel 5 --shift 0.25
try "box 5, noise 0.01" --score-kernel 5 --noise 0.01
try "box 5, rgb variance" --score-kernel 5 --score-space rgb
