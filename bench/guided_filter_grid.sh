#!/usr/bin/env bash
# How the classical filters' default settings were chosen (docs/guided.md): a small grid on the
# depth TRAINING split (Castle frames 1-28) at x8, mean RMSE per setting, bicubic for reference.
#   bash bench/guided_filter_grid.sh
set -euo pipefail
cd "$(dirname "$0")/.."
srkit=${SRKIT:-build/srkit}
run() { printf '%-58s ' "$*"; "$srkit" guide --benchmark --task depth --split train -s 8 "$@" 2>&1 |
  grep 'mean castle' | sed 's/.*rmse=\([0-9.]*\).*/\1/'; }
run --method bicubic
for spatial in 0.125 0.25 0.5 1; do
  for epsilon in 1e-1 1e-2 1e-3 1e-4; do run --method guided-filter --spatial $spatial --epsilon $epsilon; done
done
for spatial in 0.25 0.5; do
  for range in 0.02 0.1; do run --method joint-bilateral --spatial $spatial --range $range; done
done
for lambda in 0.01 0.1 1 10; do
  for sigma in 2 8 32; do run --method fast-global-smoother --lambda $lambda --sigma-color $sigma; done
done
