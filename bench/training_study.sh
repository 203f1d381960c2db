#!/usr/bin/env bash
# The training evidence of docs/training.md (needs `make build` and scripts/setup.sh's data):
#   bash bench/training_study.sh [scratch] [finetune] [throughput]     (default: all three)
# 1. scratch: configs/compact_x4.yaml trains a compact CNN x4 from scratch on data/samples (at most
#    15 minutes), compared with bicubic and the imported esrgan-slim/medium.
# 2. finetune: esrgan-medium x4 fine-tuned with L1, L1 + Sobolev (FFT) and L1 + Sobolev (DCT)
#    (configs/medium_x4_*.yaml), compared with the imported weights.
# 3. throughput: patches/s of the compact model and RDN-medium, one process (all cores) and two
#    processes (--nproc 2, half the cores each), 40 steps each, same config.
# Protocol of the tables: held-out photos data/holdout (never used for training or choices),
# cropped to a multiple of 4; LR = MATLAB-compatible bicubic x1/4 with antialiasing (srkit degrade)
# saved as 8-bit PNG; SR = srkit upscale; PSNR-Y / SSIM-Y on BT.601 Y (0..255) with a 4-pixel
# border crop, LSD on Y. Results: markdown tables on stdout, JSON in out/training_study/.
set -euo pipefail
cd "$(dirname "$0")/.."
srkit=${SRKIT:-build/srkit}
out=out/training_study
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(scratch finetune throughput)
mkdir -p "$out"

# evaluate LABEL MODEL: upscales the held-out LR with MODEL and prints a table row.
evaluate() {
  local label=$1 model=$2
  rm -rf "${out:?}/$label"
  "$srkit" upscale "$out/lr" -o "$out/$label" --model "$model" --scale 4 -q
  "$srkit" eval "$out/$label" data/holdout --scale 4 --json -q > "$out/$label.json"
  python3 -c "
import json
m=json.load(open('$out/$label.json'))['mean']
print(f\"| $label | {m['psnr']:.3f} | {m['ssim']:.4f} | {m['lsd']:.3f} |\")"
}

# train CONFIG: trains from scratch (a fresh run) and prints the summary JSON's key figures.
train() {
  local config=$1 name
  name=$(basename "$config" .yaml)
  "$srkit" train --config "$config" -q --json > "$out/train_$name.json"
  python3 -c "
import json
d=json.load(open('$out/train_$name.json'))
print(f\"$name: {d['step']} steps in {d['seconds']:.0f} s, {d['patches_per_second']:.1f} patches/s, finished={d['finished']}\")" >&2
}

rm -rf "$out/lr"
"$srkit" degrade data/holdout -o "$out/lr" --scale 4 -q
header='| model (x4) | PSNR-Y dB | SSIM-Y | LSD dB |\n|---|---|---|---|\n'

for part in "${parts[@]}"; do
  case $part in
    scratch)
      train configs/compact_x4.yaml
      printf "$header"
      evaluate bicubic bicubic
      evaluate esrgan-slim esrgan-slim
      evaluate esrgan-medium esrgan-medium
      evaluate compact_x4 runs/compact_x4/compact_x4.srkit
      echo ;;
    finetune)
      for loss in l1 sobolev_fft sobolev_dct; do train "configs/medium_x4_$loss.yaml"; done
      printf "$header"
      evaluate esrgan-medium esrgan-medium
      for loss in l1 sobolev_fft sobolev_dct; do
        evaluate "medium_x4_$loss" "runs/medium_x4_$loss/medium_x4_$loss.srkit"
      done
      echo ;;
    throughput)
      printf '| model | 1 process, patches/s | 2 processes, patches/s | ratio 2/1 |\n|---|---|---|---|\n'
      for config in compact_x4 medium_x4_l1; do
        sed "s#^output: .*#output: $out/throughput_1#" "configs/$config.yaml" > "$out/t1.yaml"
        sed "s#^output: .*#output: $out/throughput_2#" "configs/$config.yaml" > "$out/t2.yaml"
        "$srkit" train --config "$out/t1.yaml" --stop-after 40 -q --json > "$out/t1_$config.json"
        "$srkit" train --config "$out/t2.yaml" --stop-after 40 --nproc 2 -q --json \
          > "$out/t2_$config.json"
        python3 -c "
import json
a=json.load(open('$out/t1_$config.json'))['patches_per_second']
b=json.load(open('$out/t2_$config.json'))['patches_per_second']
print(f'| $config | {a:.1f} | {b:.1f} | {b/a:.2f} |')"
      done
      echo ;;
    *) echo "unknown part $part (scratch, finetune, throughput)" >&2; exit 2 ;;
  esac
done
echo "cores: $(nproc); held-out photos: $(ls data/holdout | tr '\n' ' ')"
