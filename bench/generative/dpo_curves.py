#!/usr/bin/env python3
"""The DPO training curves of docs/generative.md: implicit reward margin and accuracy against the
training step, for each preference run's log (srkit train's log.jsonl), as one SVG with two panels.
Each curve is the running mean over the last 5 logged steps (log_every 10 in the configs), of the
data-loser pair, and of the adversarial pair where the run has one (dashed).

  python3 bench/generative/dpo_curves.py OUT.svg RUN/log.jsonl...
"""
import json
import os
import sys

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
           "#17becf", "#7f7f7f", "#bcbd22"]


def read_run(path):
    steps, pairs = [], {"data_loser": ([], []), "adversarial_loser": ([], [])}
    with open(path) as f:
        for line in f:
            record = json.loads(line)
            if "data_loser" not in record:
                continue
            steps.append(record["step"])
            for pair, (margin, accuracy) in pairs.items():
                if pair in record:
                    margin.append(record[pair]["reward_margin"])
                    accuracy.append(record[pair]["accuracy"])
    return steps, {k: v for k, v in pairs.items() if v[0]}


def running_mean(values, width=5):
    out = []
    for i in range(len(values)):
        window = values[max(0, i - width + 1):i + 1]
        out.append(sum(window) / len(window))
    return out


def panel(x0, title, series, y_label, width=460, height=330):
    """series: [(label, colour, dashed, xs, ys)] -> SVG elements of one panel at x offset x0."""
    left, top, right, bottom = x0 + 60, 40, x0 + width - 10, height - 40
    xs = [x for s in series for x in s[3]] or [0, 1]
    ys = [y for s in series for y in s[4]] or [0, 1]
    x_lo, x_hi = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y_lo, y_hi = min(ys + [0]), max(ys)
    if y_hi <= y_lo:
        y_hi = y_lo + 1
    sx = lambda x: left + (x - x_lo) / (x_hi - x_lo) * (right - left)
    sy = lambda y: bottom - (y - y_lo) / (y_hi - y_lo) * (bottom - top)
    parts = [f'<text x="{(left + right) / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>',
             f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" fill="none" stroke="#444"/>',
             f'<text x="{(left + right) / 2}" y="{height - 8}" text-anchor="middle" font-size="12">training step</text>',
             f'<text x="{x0 + 14}" y="{(top + bottom) / 2}" text-anchor="middle" font-size="12" '
             f'transform="rotate(-90 {x0 + 14} {(top + bottom) / 2})">{y_label}</text>']
    for k in range(5):
        y = y_lo + (y_hi - y_lo) * k / 4
        parts.append(f'<text x="{left - 4}" y="{sy(y) + 4:.1f}" text-anchor="end" font-size="10">{y:.3g}</text>')
        x = x_lo + (x_hi - x_lo) * k / 4
        parts.append(f'<text x="{sx(x):.1f}" y="{bottom + 14}" text-anchor="middle" font-size="10">{x:.0f}</text>')
    if y_lo < 0 < y_hi:
        parts.append(f'<line x1="{left}" x2="{right}" y1="{sy(0):.1f}" y2="{sy(0):.1f}" stroke="#bbb"/>')
    for label, colour, dashed, px, py in series:
        points = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(px, py))
        dash = ' stroke-dasharray="5,3"' if dashed else ""
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5"{dash}/>')
    return parts


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, logs = sys.argv[1], sys.argv[2:]
    margins, accuracies, legend = [], [], []
    colour_index = 0
    for log in sorted(logs):
        steps, pairs = read_run(log)
        if not steps:
            continue
        run = os.path.basename(os.path.dirname(log))
        colour = COLOURS[colour_index % len(COLOURS)]
        colour_index += 1
        for pair, (margin, accuracy) in pairs.items():
            dashed = pair == "adversarial_loser"
            label = run + (" (adversarial loser)" if dashed else "")
            margins.append((label, colour, dashed, steps, running_mean(margin)))
            accuracies.append((label, colour, dashed, steps, running_mean(accuracy)))
            legend.append((label, colour, dashed))
    width, height = 940, 330 + 18 * len(legend) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif">',
             f'<rect width="{width}" height="{height}" fill="white"/>']
    parts += panel(0, "implicit reward margin (running mean of 5 logs)", margins, "margin")
    parts += panel(470, "preference accuracy (running mean of 5 logs)", accuracies, "accuracy")
    for i, (label, colour, dashed) in enumerate(legend):
        y = 340 + 18 * i
        dash = ' stroke-dasharray="5,3"' if dashed else ""
        parts.append(f'<line x1="70" x2="100" y1="{y}" y2="{y}" stroke="{colour}" stroke-width="2"{dash}/>')
        parts.append(f'<text x="106" y="{y + 4}" font-size="12">{label}</text>')
    parts.append("</svg>")
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(parts) + "\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
