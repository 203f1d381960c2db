#!/usr/bin/env bash
# The picture of the Real-ESRGAN degradation in docs/training.md: eight draws (seeds 0..7) of the
# x4 pipeline on the Set5 butterfly, each LR enlarged back (nearest) to the HR size.
#   bash bench/degradation_grid.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build/srkit degrade data/samples/butterfly.png -o docs/training/realesrgan_grid.png \
  --pipeline realesrgan --scale 4 --seed 0 --grid 8 --overwrite -q
build/srkit degrade data/samples/butterfly.png -o out/realesrgan_seed0.png \
  --pipeline realesrgan --scale 4 --seed 0 --overwrite --json -q
