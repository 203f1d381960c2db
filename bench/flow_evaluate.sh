#!/usr/bin/env bash
# The evidence tables of docs/generative.md for the flow runs of bench/flow_study.sh (needs `make
# build`, scripts/setup.sh's data and at least one trained run in out/flow_study):
#   bash bench/flow_evaluate.sh [quality] [conformal]      (default: both)
# quality: held-out HR = two 256 px crops of each data/holdout photo (centre, centre of the upper-left
#   quarter; never used in training or choices), LR = the Real-ESRGAN pipeline x4, seed 100 (srkit
#   degrade). Methods: bicubic, the regression models realesrgan-x4fast and realesrgan-x4plus, and
#   every trained flow run at 1, 4 and 28 Euler steps with sampling seeds 0 and 1. PSNR-Y/SSIM-Y
#   (BT.601, 4 px border crop), LSD, BRISQUE and NIQE (srkit eval), each sampled method's mean over
#   both seeds; spread = mean per-pixel standard deviation of Y over the two seeds (0..255); the
#   radially averaged log power spectrum of Y against the HR's, its mean absolute error per band
#   (bench/generative/spectra.cpp); seconds per output megapixel (srkit upscale --json, 2 threads).
#   FLOW_EVAL_STEPS="1 4 28" chooses the steps. Writes docs/generative/spectra.svg and
#   docs/generative/flow_grid.png (each loss's run of the lowest training seed), prints markdown
#   tables.
# The preference study (bench/preference_study.sh) evaluates its runs the same way, choosing by
#   FLOW_RUNS (default out/flow_study), FLOW_EVAL_OUT (out/flow_eval), FLOW_PLOT (the variants the
#   plot and grid show: "mse sobolev"), FLOW_PLOT_STEPS ("1 28"), FLOW_GRID_SEEDS ("0 1"),
#   FLOW_SPECTRA and FLOW_GRID (the figures' paths), FLOW_SAMPLING_SEEDS ("0 1"; with one seed
#   there is no spread: "-"). A sampled folder whose metrics are newer than its model file is
#   reused, not sampled again. A distilled one-step model (bench/icm_study.sh) is run once, as the
#   regression models are.
# conformal: the MSE run of the lowest training seed, 4 Euler steps, calibrated on 96 px crops of data/samples
#   (LR: MATLAB bicubic) with 8 samples, scored by the spread over seeds and, for comparison, over
#   flips and rotations of the seed-0 sample; checked on 96 px crops of data/holdout.
set -euo pipefail
cd "$(dirname "$0")/.."
srkit=${SRKIT:-build/srkit}
runs=${FLOW_RUNS:-out/flow_study}
out=${FLOW_EVAL_OUT:-out/flow_eval}
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(quality conformal)
mkdir -p "$out" docs/generative
g++ -O2 -std=c++17 bench/generative/spectra.cpp -o "$out/spectra" $(pkg-config --cflags --libs opencv4)
g++ -O1 -std=c++17 bench/quality/crop_grid.cpp -o "$out/crop_grid" $(pkg-config --cflags --libs opencv4)

models=()
for m in "$runs"/flow_*_seed*/flow_*_seed*.srkit; do
  [[ -f "$m" && $m != *.lora.srkit ]] && models+=("$m")  # not the adapters beside LoRA runs
done
[ ${#models[@]} -gt 0 ] || { echo "flow_evaluate: no trained runs in $runs (bench/flow_study.sh train)" >&2; exit 2; }

# first_run VARIANT: the name of the trained run of that variant (loss) with the lowest training
# seed (the plot's and the grid's); fails when there is none.
first_run() {
  local m
  m=$(printf '%s\n' "${models[@]}" | grep "/flow_${1}_seed[0-9]*/" | sort -V | head -1)
  [ -n "$m" ] && basename "$m" .srkit
}

# one_step MODEL: whether the model file is a distilled one-step model (bench/icm_study.sh's runs).
one_step() {
  python3 -c 'import json, sys, zipfile
d = json.loads(zipfile.ZipFile(sys.argv[1]).read("srkit.json"))
sys.exit(0 if d["network"]["architecture"] == "flow_unet_one_step" else 1)' "$1"
}

# metrics LABEL DIR: one JSON line of the folder's mean metrics against the HR crops.
metrics() {
  local label=$1 dir=$2
  "$srkit" eval "$dir" "$out/hr" --scale 4 --json -q >"$out/$label.eval.json"
  "$srkit" eval --no-reference "$dir" --json -q >"$out/$label.noref.json"
}

# upscale LABEL ARGS...: upscales the LR crops into $out/LABEL and records its seconds.
upscale() {
  local label=$1
  shift
  rm -rf "${out:?}/$label"
  "$srkit" upscale "$out/lr" -o "$out/$label" --threads 2 -q --json "$@" >"$out/$label.upscale.json"
  metrics "$label" "$out/$label"
}

quality() {
  rm -rf "$out/hr" "$out/lr"
  "$out/spectra" crops "$out/hr" 256 data/holdout/*.png
  "$srkit" degrade "$out/hr" -o "$out/lr" --pipeline realesrgan --scale 4 --seed 100 -q
  local labels=()
  for model in bicubic realesrgan-x4fast realesrgan-x4plus; do
    upscale "$model" --model "$model" --scale 4
    labels+=("$model")
  done
  for m in "${models[@]}"; do
    local run
    run=$(basename "$m" .srkit)
    if one_step "$m"; then  # a distilled one-step model: deterministic, one run
      [ "$out/$run.noref.json" -nt "$m" ] || upscale "$run" --model "$m"
      labels+=("$run")
      continue
    fi
    for steps in ${FLOW_EVAL_STEPS:-1 4 28}; do
      for seed in ${FLOW_SAMPLING_SEEDS:-0 1}; do
        [ "$out/${run}_${steps}_s$seed.noref.json" -nt "$m" ] && continue  # sampled already
        upscale "${run}_${steps}_s$seed" --model "$m" --steps "$steps" --seed "$seed"
      done
      labels+=("${run}_${steps}")
      rm -f "$out/${run}_${steps}.spread"
      [ "${FLOW_SAMPLING_SEEDS:-0 1}" = "0 1" ] || continue
      local spread=0 n=0
      for f in "$out/hr"/*.png; do
        local name
        name=$(basename "$f")
        spread=$(python3 -c "print($spread + $("$out/spectra" spread "$out/${run}_${steps}_spread_$name" \
          "$out/${run}_${steps}_s0/$name" "$out/${run}_${steps}_s1/$name"))")
        n=$((n + 1))
      done
      python3 -c "print($spread / $n)" >"$out/${run}_${steps}.spread"
    done
  done
  # The spectra: every method against the HR crops (sampled methods: seed 0).
  local specs=()
  for label in "${labels[@]}"; do
    if [ -d "$out/$label" ]; then specs+=("$label=$out/$label"); else specs+=("$label=$out/${label}_s0"); fi
  done
  "$out/spectra" bands "$out/spectra_all.svg" "$out/hr" "${specs[@]}" >"$out/spectra.json"
  # The plot shows bicubic, x4plus and each variant's first run at 1 and 28 steps.
  local plot=("bicubic=$out/bicubic" "realesrgan-x4plus=$out/realesrgan-x4plus") loss run steps seed
  for loss in ${FLOW_PLOT:-mse sobolev}; do
    run=$(first_run "$loss") || continue
    [ -d "$out/$run" ] && plot+=("one-step ${loss}=$out/$run")
    for steps in ${FLOW_PLOT_STEPS:-1 28}; do
      [ -d "$out/${run}_${steps}_s0" ] && plot+=("flow ${loss} ${steps} steps=$out/${run}_${steps}_s0")
    done
  done
  "$out/spectra" bands "${FLOW_SPECTRA:-docs/generative/spectra.svg}" "$out/hr" "${plot[@]}" >/dev/null
  python3 - "$out" "${FLOW_SAMPLING_SEEDS:-0 1}" "${labels[@]}" <<'EOF'
import json, os, sys
out, seeds, labels = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
spectra = json.load(open(f"{out}/spectra.json"))["methods"]
print("| method | PSNR-Y dB | SSIM-Y | LSD dB | BRISQUE | NIQE | spectrum error dB, bands 0-1/16, -1/8, -1/4, -1/2 | spread (Y) | s/Mpx |")
print("|---|---|---|---|---|---|---|---|---|")
for label in labels:
    folders = [label] if os.path.isdir(f"{out}/{label}") else [f"{label}_s{s}" for s in seeds]
    keys = ("psnr", "ssim", "lsd", "brisque", "niqe")
    sums = dict.fromkeys(keys, 0.0)
    seconds = pixels = 0.0
    for f in folders:
        m = json.load(open(f"{out}/{f}.eval.json"))["mean"]
        n = json.load(open(f"{out}/{f}.noref.json"))["mean"]
        for k in ("psnr", "ssim", "lsd"):
            sums[k] += m[k] / len(folders)
        for k in ("brisque", "niqe"):
            sums[k] += n[k] / len(folders)
        for image in json.load(open(f"{out}/{f}.upscale.json"))["images"]:
            seconds += image["seconds"]
            pixels += image["out_width"] * image["out_height"]
    spread_file = f"{out}/{label}.spread"
    sampled = not os.path.isdir(f"{out}/{label}")
    spread = (f"{float(open(spread_file).read()):.2f}" if os.path.exists(spread_file)
              else "-" if sampled else "0")
    bands = ", ".join(f"{b:.1f}" for b in spectra[label]["band_error_db"])
    print(f"| {label} | {sums['psnr']:.2f} | {sums['ssim']:.4f} | {sums['lsd']:.2f} | "
          f"{sums['brisque']:.1f} | {sums['niqe']:.2f} | {bands} | {spread} | {seconds / pixels * 1e6:.1f} |")
EOF
  # The crop grid: one held-out crop, LR (enlarged), bicubic, x4plus, flow MSE 28 steps at two
  # seeds, flow Sobolev 28 steps, HR.
  local name=graf1_0.png
  local grid=("LR x4 (nearest)=$out/lr/$name" "bicubic=$out/bicubic/$name"
    "Real-ESRGAN x4plus=$out/realesrgan-x4plus/$name")
  for loss in ${FLOW_PLOT:-mse sobolev}; do
    run=$(first_run "$loss") || continue
    [ -d "$out/$run" ] && grid+=("one-step $loss=$out/$run/$name")
    for seed in ${FLOW_GRID_SEEDS:-0 1}; do
      [ -d "$out/${run}_28_s$seed" ] && grid+=("flow $loss, seed $seed=$out/${run}_28_s$seed/$name")
    done
  done
  grid+=("HR=$out/hr/$name")
  "$out/crop_grid" "${FLOW_GRID:-docs/generative/flow_grid.png}" 64 64 128 2 "${grid[@]}"
}

conformal() {
  local run model
  run=$(first_run mse) || { echo "flow_evaluate: no MSE run to calibrate" >&2; exit 2; }
  model=$runs/$run/$run.srkit
  echo "| score | alpha | risk (95% CI) | trusted fraction | PSNR-Y in mask |"
  echo "|---|---|---|---|---|"
  for spread in seeds flips; do
    "$srkit" calibrate --model "$model" --steps 4 --data data/samples --crop 96 --samples 8 \
      --spread "$spread" --alpha 0.1,0.2 -o "$out/calib_$spread.json" --overwrite -q
    "$srkit" conformal-eval --calibration "$out/calib_$spread.json" --model "$model" --steps 4 \
      --data data/holdout --crop 96 --json -q >"$out/eval_$spread.json"
    python3 - "$out/eval_$spread.json" "$spread" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for level in d["alphas"]:
    if level["alpha"] not in (0.1, 0.2):
        continue
    risk, mask = level["risk"], level["psnr_mask"]
    psnr = f"{mask['mean']:.2f}" if mask["count"] else "(empty masks)"
    print(f"| {sys.argv[2]} | {level['alpha']} | {risk['mean']:.3f} ({risk['ci95'][0]:.3f}-{risk['ci95'][1]:.3f}) | "
          f"{level['trusted_fraction']['mean']:.3f} | {psnr} |")
EOF
  done
}

for part in "${parts[@]}"; do
  case $part in
    quality) quality ;;
    conformal) conformal ;;
    *) echo "flow_evaluate: unknown part $part (quality, conformal)" >&2; exit 2 ;;
  esac
done
