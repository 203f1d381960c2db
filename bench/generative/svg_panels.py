"""The line-plot panels of the training-curve figures of docs/generative.md, as SVG elements."""
import os

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
           "#17becf", "#7f7f7f", "#bcbd22"]


def running_mean(values, width=5):
    out = []
    for i in range(len(values)):
        window = values[max(0, i - width + 1):i + 1]
        out.append(sum(window) / len(window))
    return out


def panel(x0, title, series, y_label, width=460, height=330, x_label="training step"):
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
             f'<text x="{(left + right) / 2}" y="{height - 8}" text-anchor="middle" font-size="12">{x_label}</text>',
             f'<text x="{x0 + 14}" y="{(top + bottom) / 2}" text-anchor="middle" font-size="12" '
             f'transform="rotate(-90 {x0 + 14} {(top + bottom) / 2})">{y_label}</text>']
    for k in range(5):
        y = y_lo + (y_hi - y_lo) * k / 4
        parts.append(f'<text x="{left - 4}" y="{sy(y) + 4:.1f}" text-anchor="end" font-size="10">{y:.3g}</text>')
        x = x_lo + (x_hi - x_lo) * k / 4
        parts.append(f'<text x="{sx(x):.1f}" y="{bottom + 14}" text-anchor="middle" font-size="10">{x:.3g}</text>')
    if y_lo < 0 < y_hi:
        parts.append(f'<line x1="{left}" x2="{right}" y1="{sy(0):.1f}" y2="{sy(0):.1f}" stroke="#bbb"/>')
    for label, colour, dashed, px, py in series:
        points = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(px, py))
        dash = ' stroke-dasharray="5,3"' if dashed else ""
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5"{dash}/>')
    return parts


def write_svg(out, panels, legend, width=940, height=330):
    """Writes the panels (SVG elements) above a legend [(label, colour, dashed)], atomically."""
    total = height + 18 * len(legend) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total}" font-family="sans-serif">',
             f'<rect width="{width}" height="{total}" fill="white"/>']
    parts += panels
    for i, (label, colour, dashed) in enumerate(legend):
        y = height + 10 + 18 * i
        dash = ' stroke-dasharray="5,3"' if dashed else ""
        parts.append(f'<line x1="70" x2="100" y1="{y}" y2="{y}" stroke="{colour}" stroke-width="2"{dash}/>')
        parts.append(f'<text x="106" y="{y + 4}" font-size="12">{label}</text>')
    parts.append("</svg>")
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(parts) + "\n")
    os.replace(tmp, out)
