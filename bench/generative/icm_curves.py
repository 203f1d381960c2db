#!/usr/bin/env python3
"""The ICM-SR conditioning study's figures of docs/generative.md, from the distillation runs' logs
(srkit train's log.jsonl; runs named flow_ARM_seedN, ARM one of icm, dense, none):

  gradient figure: the VSD gradient's RMS against its noise level s, and OSEDiff's normaliser
    mean|x_hat - x0_real| against s, each the median over the samples of all of an arm's runs in
    10 bins of s; solid: the second half of training, dashed: the first half.
  curves figure: the generator's L2 term, the VSD term and the fake score's flow loss against the
    training step, one line per run (running mean of 5 logs).
Prints (markdown) each arm's median gradient RMS per level bin in the second half of training,
over all its runs, and per run the largest logged VSD term and the last logged L2 and VSD terms.

  python3 bench/generative/icm_curves.py GRADIENT.svg CURVES.svg RUN/log.jsonl...
"""
import json
import math
import os
import re
import sys

from svg_panels import COLOURS, panel, running_mean, write_svg

ARMS = ["icm", "dense", "none"]
BINS = 10


def read_run(path):
    records = []
    with open(path) as f:
        for line in f:
            record = json.loads(line)
            if "vsd_samples" in record:
                records.append(record)
    return records


def median(values):
    values = sorted(values)
    n = len(values)
    return (values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2) if n else math.nan


def binned(samples, column, lo=0.02, hi=0.98):
    """samples: [[level, rms, normaliser]] -> (bin centres, medians of the column) of non-empty bins."""
    bins = [[] for _ in range(BINS)]
    for sample in samples:
        k = min(BINS - 1, max(0, int((sample[0] - lo) / (hi - lo) * BINS)))
        if math.isfinite(sample[column]):
            bins[k].append(sample[column])
    xs = [lo + (k + 0.5) * (hi - lo) / BINS for k in range(BINS) if bins[k]]
    ys = [median(b) for b in bins if b]
    return xs, ys


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    gradient_out, curves_out, logs = sys.argv[1], sys.argv[2], sys.argv[3:]
    runs = {}
    for log in sorted(logs):
        name = os.path.basename(os.path.dirname(log))
        match = re.match(r"flow_([a-z]+)_seed(\d+)$", name)
        records = read_run(log)
        if match and match.group(1) in ARMS and records:
            runs[name] = (match.group(1), records)

    # The gradient figure: per arm, samples of the first and second half of each run's steps.
    rms, normaliser, legend = [], [], []
    for index, arm in enumerate(ARMS):
        halves = ([], [])
        for name, (run_arm, records) in runs.items():
            if run_arm != arm:
                continue
            last = records[-1]["step"]
            for record in records:
                halves[record["step"] > last / 2].extend(record["vsd_samples"])
        if not halves[0] and not halves[1]:
            continue
        colour = COLOURS[index]
        seeds = sum(1 for run_arm, _ in runs.values() if run_arm == arm)
        for late, samples in ((False, halves[0]), (True, halves[1])):
            label = f"{arm} ({seeds} runs), {'second' if late else 'first'} half of training"
            rms.append((label, colour, not late) + binned(samples, 1))
            normaliser.append((label, colour, not late) + binned(samples, 2))
            legend.append((label, colour, not late))
    panels = panel(0, "VSD gradient RMS (median per bin)", rms, "RMS", x_label="noise level s")
    panels += panel(470, "normaliser mean|x_hat - x0_real| (median)", normaliser, "normaliser",
                    x_label="noise level s")
    write_svg(gradient_out, panels, legend)

    print("| arm (runs), second half | " + " | ".join(f"s {0.02 + (k + 0.5) * 0.096:.2f}" for k in range(BINS)) + " |")
    print("|---" * (BINS + 1) + "|")
    for index, arm in enumerate(ARMS):
        late = [x for name, (run_arm, records) in runs.items() if run_arm == arm
                for r in records if r["step"] > records[-1]["step"] / 2 for x in r["vsd_samples"]]
        if not late:
            continue
        xs, ys = binned(late, 1)
        seeds = sum(1 for run_arm, _ in runs.values() if run_arm == arm)
        cells = {round(x, 3): y for x, y in zip(xs, ys)}
        row = [f"{cells[round(0.02 + (k + 0.5) * 0.096, 3)]:.3f}" if round(0.02 + (k + 0.5) * 0.096, 3) in cells
               else "-" for k in range(BINS)]
        print(f"| {arm} ({seeds}) | " + " | ".join(row) + " |")
    print()
    print("| run | largest VSD term | last L2 | last VSD | last gradient RMS | non-finite losses |")
    print("|---|---|---|---|---|---|")
    for name, (arm, records) in runs.items():
        vsd_values = [r["vsd"] for r in records]
        bad = sum(1 for r in records if not math.isfinite(r["loss"]))
        last = records[-1]
        print(f"| {name} | {max(vsd_values):.3f} | {next(iter(last['terms'].values())):.4f} | "
              f"{last['vsd']:.4f} | {last['vsd_grad_rms']:.3f} | {bad} |")

    # The curves figure.
    l2, vsd, fake, legend = [], [], [], []
    for name, (arm, records) in runs.items():
        colour = COLOURS[ARMS.index(arm)]
        dashed = not name.endswith("seed1")
        steps = [r["step"] for r in records]
        terms = [next(iter(r["terms"].values())) for r in records]
        l2.append((name, colour, dashed, steps, running_mean(terms)))
        vsd.append((name, colour, dashed, steps, running_mean([r["vsd"] for r in records])))
        fake.append((name, colour, dashed, steps,
                     running_mean([r["fake_score_loss"] for r in records])))
        legend.append((name, colour, dashed))
    panels = panel(0, "generator L2 term (running mean of 5 logs)", l2, "L2")
    panels += panel(470, "VSD term mean(grad^2)", vsd, "VSD")
    panels += panel(940, "fake score flow loss", fake, "loss")
    write_svg(curves_out, panels, legend, width=1410)


if __name__ == "__main__":
    main()
