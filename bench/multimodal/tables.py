"""The tables of docs/multimodal.md from bench/multimodal_study.sh's evaluation folder: quality per
arm (the mean over training seeds, and each seed's PSNR-Y), robustness (PSNR-Y change when one
modality's map is corrupted or missing at test time, mean over seeds), and the mean weights.
  python3 bench/multimodal/tables.py EVAL_DIR LABEL...
"""
import json
import re
import sys
from collections import defaultdict


def arm_of(label):
    m = re.match(r"mm_(.*)_seed(\d+)$", label)
    return (m.group(1), int(m.group(2))) if m else (label, None)


def main():
    out, labels = sys.argv[1], sys.argv[2:]
    rows = defaultdict(list)
    for label in labels:
        arm, seed = arm_of(label)
        m = json.load(open(f"{out}/{label}.eval.json"))["mean"]
        n = json.load(open(f"{out}/{label}.noref.json"))["mean"]
        images = json.load(open(f"{out}/{label}.upscale.json"))["images"]
        seconds = sum(i["seconds"] for i in images)
        pixels = sum(i["out_width"] * i["out_height"] for i in images)
        rows[arm].append({"seed": seed, "psnr": m["psnr"], "ssim": m["ssim"], "lsd": m["lsd"],
                          "brisque": n["brisque"], "niqe": n["niqe"], "spm": seconds / pixels * 1e6})
    print("| method | PSNR-Y dB (mean) | per seed | SSIM-Y | LSD dB | BRISQUE | NIQE | s/Mpx |")
    print("|---|---|---|---|---|---|---|---|")
    for arm, runs in rows.items():
        mean = lambda k: sum(r[k] for r in runs) / len(runs)
        per_seed = " / ".join(f"{r['psnr']:.2f}" for r in sorted(runs, key=lambda r: r["seed"] or 0))
        print(f"| {arm} | {mean('psnr'):.2f} | {per_seed} | {mean('ssim'):.4f} | {mean('lsd'):.2f} | "
              f"{mean('brisque'):.1f} | {mean('niqe'):.2f} | {mean('spm'):.2f} |")

    lines = [json.loads(l) for l in open(f"{out}/robustness.jsonl")]
    clean = {l["model"]: l for l in lines if l["condition"] == "clean"}
    drops = defaultdict(lambda: defaultdict(list))  # arm -> column -> [change per seed]
    seed_worst = defaultdict(dict)  # arm -> seed -> the worst change of that run
    weights = defaultdict(lambda: defaultdict(list))
    columns = []
    for l in lines:
        arm, _ = arm_of(l["model"])
        if l["condition"] == "clean":
            drops[arm]["clean"].append(l["psnr_y"])
            for name, w in l.get("weights", {}).items():
                weights[arm][name].append(w)
            continue
        column = f"{l['modality']} {l['condition']}"
        if column not in columns:
            columns.append(column)
        change = l["psnr_y"] - clean[l["model"]]["psnr_y"]
        drops[arm][column].append(change)
        seed = arm_of(l["model"])[1]
        seed_worst[arm][seed] = min(seed_worst[arm].get(seed, 0.0), change)
    print()
    print("| method | clean PSNR-Y | " + " | ".join(columns) + " | worst | worst per seed |")
    print("|---|---|" + "---|" * (len(columns) + 2))
    for arm, by_column in drops.items():
        cells, worst = [], 0.0
        for column in columns:
            values = by_column.get(column)
            if values:
                v = sum(values) / len(values)
                worst = min(worst, v)
                cells.append(f"{v:+.2f}")
            else:
                cells.append("-")
        clean_mean = sum(by_column["clean"]) / len(by_column["clean"])
        per_seed = " / ".join(f"{v:+.2f}" for _, v in sorted(seed_worst[arm].items())) or "-"
        print(f"| {arm} | {clean_mean:.2f} | " + " | ".join(cells) + f" | {worst:+.2f} | {per_seed} |")
    print()
    print("| method | mean weight: edges | segmentation |")
    print("|---|---|---|")
    for arm, by_name in weights.items():
        cells = [f"{sum(v) / len(v):.3f}" for v in by_name.values()]
        print(f"| {arm} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
