"""A small SVG line plot with a logarithmic y axis, so the benchmark needs no plotting
library (autodx's dependencies stay what they are)."""
from __future__ import annotations

import math

COLOURS = ["#1b6ac9", "#d4731c", "#2e9e4f", "#b8336a", "#6b4fbb"]


def svg_plot(series: dict, xlabel: str, ylabel: str, width: int = 720,
             height: int = 440) -> str:
    """Lines of (x, seconds) per name; infinite values (time-outs) are left out."""
    points = {k: [(x, y) for x, y in v if 0 < y < float("inf")] for k, v in series.items()}
    xs = [x for v in points.values() for x, _ in v] or [1]
    ys = [y for v in points.values() for _, y in v] or [1]
    x0, x1 = min(xs), max(xs)
    y0 = 10 ** math.floor(math.log10(min(ys)))
    y1 = 10 ** math.ceil(math.log10(max(ys)))
    left, right, top, bottom = 70, 180, 20, 50
    w, h = width - left - right, height - top - bottom

    def px(x):
        return left + (x - x0) / ((x1 - x0) or 1) * w

    def py(y):
        return top + h - (math.log10(y) - math.log10(y0)) / \
            ((math.log10(y1) - math.log10(y0)) or 1) * h

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>']
    decade = y0
    while decade <= y1 * 1.0001:
        y = py(decade)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + w}" y2="{y:.1f}" '
                   'stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{decade:g}</text>')
        decade *= 10
    for x in sorted(set(xs)):
        out.append(f'<text x="{px(x):.1f}" y="{top + h + 18}" text-anchor="middle">{x}</text>')
    out.append(f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#333"/>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#333"/>')
    out.append(f'<text x="{left + w / 2}" y="{height - 10}" text-anchor="middle">{xlabel}</text>')
    out.append(f'<text x="16" y="{top + h / 2}" text-anchor="middle" '
               f'transform="rotate(-90 16 {top + h / 2})">{ylabel}</text>')
    for i, (name, pts) in enumerate(points.items()):
        colour = COLOURS[i % len(COLOURS)]
        if pts:
            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
            out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                       'stroke-width="2"/>')
            out += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>'
                    for x, y in pts]
        ly = top + 10 + 20 * i
        out.append(f'<line x1="{left + w + 15}" y1="{ly}" x2="{left + w + 35}" y2="{ly}" '
                   f'stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{left + w + 40}" y="{ly + 4}">{name}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
