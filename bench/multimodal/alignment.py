"""The alignment plot of docs/multimodal.md: for each arm with learned weights (dynamic, adaptive,
fixed, scalar), the mean weight of the edges map over training (each seed, solid) against the
alignment target the measured contributions call for (softmax(c_rel / tau_c), dashed), and the
measured contributions themselves (second panel row). Reads out/multimodal_study/mm_ARM_seedN/
log.jsonl (bench/multimodal_study.sh).
  python3 bench/multimodal/alignment.py OUT.svg STUDY_DIR SEED...
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "generative"))
from svg_panels import COLOURS, panel, running_mean, write_svg  # noqa: E402

ARMS = ["dynamic", "adaptive", "fixed", "scalar"]


def read_log(path):
    steps = []
    with open(path) as f:
        for line in f:
            record = json.loads(line)
            if "loss" in record and "contributions" in record:
                steps.append(record)
    return steps


def main():
    out, study, seeds = sys.argv[1], sys.argv[2], sys.argv[3:]
    weight_panels, contribution_panels = [], []
    legend = []
    for i, arm in enumerate(ARMS):
        weights, contributions = [], []
        for j, seed in enumerate(seeds):
            log = f"{study}/mm_{arm}_seed{seed}/log.jsonl"
            if not os.path.exists(log):
                continue
            steps = read_log(log)
            xs = [r["step"] for r in steps]
            colour = COLOURS[j % len(COLOURS)]
            if "weights" in steps[0]:
                weights.append((f"seed {seed}: mean weight of edges", colour, False, xs,
                                running_mean([r["weights"]["edges"] for r in steps], 20)))
            weights.append((f"seed {seed}: target for edges", colour, True, xs,
                            [r["target"]["edges"] for r in steps]))
            for k, name in enumerate(("edges", "segmentation")):
                contributions.append((f"seed {seed}: {name}", COLOURS[(2 * j + k + 2) % len(COLOURS)],
                                      k == 1, xs, [r["contributions"][name] for r in steps]))
        x0 = 470 * i
        weight_panels += panel(x0, f"{arm}: edges' weight vs target", weights, "weight")
        contribution_panels.append(f'<g transform="translate(0,330)">')
        contribution_panels += panel(x0, f"{arm}: contributions (loss increase)", contributions,
                                     "L1 increase when dropped")
        contribution_panels.append("</g>")
    for j, seed in enumerate(seeds):
        legend.append((f"seed {seed}: edges' mean weight (solid) / alignment target (dashed)",
                       COLOURS[j % len(COLOURS)], False))
        legend.append((f"seed {seed}: contribution of edges (solid) / segmentation (dashed)",
                       COLOURS[(2 * j + 2) % len(COLOURS)], False))
    write_svg(out, weight_panels + contribution_panels, legend, width=470 * len(ARMS), height=660)


if __name__ == "__main__":
    main()
