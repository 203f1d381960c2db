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

from svg_panels import COLOURS, panel, running_mean, write_svg


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
    panels = panel(0, "implicit reward margin (running mean of 5 logs)", margins, "margin")
    panels += panel(470, "preference accuracy (running mean of 5 logs)", accuracies, "accuracy")
    write_svg(out, panels, legend)


if __name__ == "__main__":
    main()
