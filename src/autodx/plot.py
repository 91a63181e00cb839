"""f and its derivatives over a range: the numbers (one vectorised program), a text plot
for the terminal, and images through matplotlib (imported only here, only for images).

A pole or a domain edge leaves a gap: non-finite values are gaps, and so are values
far outside the range the rest of the curve spans (sampled next to a pole, 1/x jumps
from -400 to 400), so no line is drawn across a pole.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError

# Okabe and Ito's palette: told apart with every common colour-vision deficiency
COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
           "#F0E442"]
IMAGES = (".png", ".svg", ".pdf")
NUMBERS = (".csv", ".json", ".npy")
MAX_POINTS = 100_000


@dataclass
class Curves:
    """The samples: ``x`` and one row of ``y`` per order 0..N (f, f', ...)."""

    expression: str
    variable: str
    x: np.ndarray
    y: np.ndarray  # (order + 1, points)

    @property
    def names(self) -> list[str]:
        return [name(k) for k in range(len(self.y))]


def name(k: int) -> str:
    """f, f', f'', f''', then f^(4), ..."""
    return "f" + ("'" * k if k <= 3 else f"^({k})")


def parse_range(text: str) -> tuple[float, float]:
    """``a:b`` -> (a, b), a < b, both finite."""
    parts = text.split(":")
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError:
        raise InputError(f"--range {text!r}: give it as A:B, e.g. --range -2:2") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise InputError(f"--range {text!r}: A must be below B, both finite numbers")
    return lo, hi


def check_points(points: int) -> None:
    if not 2 <= points <= MAX_POINTS:
        raise InputError(f"--points {points}: give 2 to {MAX_POINTS:,}")


def gaps(y: np.ndarray) -> np.ndarray:
    """``y`` with NaN where it is not finite or far outside the rest of the curve."""
    y = np.where(np.isfinite(y), y, np.nan)
    finite = y[np.isfinite(y)]
    if finite.size < 4:
        return y
    lo, hi = np.percentile(finite, [5, 95])
    spread = max(hi - lo, 1e-12 * max(abs(lo), abs(hi), 1.0))
    y = np.where((y < lo - 20 * spread) | (y > hi + 20 * spread), np.nan, y)
    # a jump between neighbouring samples far beyond the curve's spread is a pole
    # crossed between them (1/x from -400 to 400): no line across it
    with np.errstate(invalid="ignore"):
        jump = np.abs(np.diff(y)) > 10 * spread
    y[np.concatenate([jump, [False]]) | np.concatenate([[False], jump])] = np.nan
    return y


def image(curves: Curves, path: str, size: tuple[int, int], kind: str) -> None:
    """Write the curves as ``kind`` (png, svg or pdf) to ``path``, ``size`` pixels (at 100
    dots an inch)."""
    try:
        import matplotlib
    except ImportError:
        raise InputError("image plots need matplotlib: pip install \"autodx[plot]\" (or "
                         "pip install matplotlib); --out FILE.csv gives the numbers "
                         "without it") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(size[0] / 100, size[1] / 100), dpi=100)
    for k, (label, y) in enumerate(zip(curves.names, curves.y)):
        ax.plot(curves.x, gaps(y), label=label, color=COLOURS[k % len(COLOURS)],
                linewidth=1.6)
    ax.set_title(f"f = {curves.expression}")
    ax.set_xlabel(curves.variable)
    ax.set_ylabel("value")
    ax.grid(True, alpha=0.35)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100, format=kind)
    plt.close(fig)


# ---------------------------------------------------------------- the text plot

_DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))  # braille (row, column)


def text(curves: Curves, width: int, colour: bool = False, height: int = 8) -> list[str]:
    """One braille panel per curve (each on its own scale), ``width`` characters wide,
    with the curve's range on its left and the x axis under the last."""
    label = max(len(f"{v:.4g}") for y in curves.y for v in _bounds(gaps(y))) + 1
    cols = max(width - label - 2, 10)
    lines = []
    for k, (name_k, y) in enumerate(zip(curves.names, curves.y)):
        lo, hi = _bounds(gaps(y))
        cells = _braille(curves.x, gaps(y), cols, height, lo, hi)
        paint = (lambda s, c=COLOURS[k % len(COLOURS)]: _ansi(s, c)) if colour else str
        lines.append(paint(name_k))
        for r, row in enumerate(cells):
            edge = f"{hi:.4g}" if r == 0 else (f"{lo:.4g}" if r == height - 1 else "")
            lines.append(f"{edge:>{label}} ┤" + paint("".join(row)).rstrip())
    x_lo, x_hi = f"{curves.x[0]:.4g}", f"{curves.x[-1]:.4g}"
    axis = " " * (label + 2) + x_lo + " " * max(cols - len(x_lo) - len(x_hi), 1) + x_hi
    return lines + [axis, " " * (label + 2) + curves.variable.center(cols).rstrip()]


def _bounds(y: np.ndarray) -> tuple[float, float]:
    finite = y[np.isfinite(y)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    return (lo - 0.5, hi + 0.5) if lo == hi else (lo, hi)


def _braille(x, y, cols: int, rows: int, lo: float, hi: float) -> list[list[str]]:
    codes = np.zeros((rows, cols), dtype=int)
    span = x[-1] - x[0]
    # between samples the curve is drawn down to the next one, so steep parts join up
    px = np.clip(((x - x[0]) / span * (2 * cols - 1)).round().astype(int), 0, 2 * cols - 1)
    with np.errstate(invalid="ignore"):
        py = ((hi - y) / (hi - lo) * (4 * rows - 1)).round()
    for i in range(len(x)):
        if not np.isfinite(py[i]):
            continue
        top = bottom = int(py[i])
        if i + 1 < len(x) and np.isfinite(py[i + 1]) and px[i + 1] - px[i] <= 1:
            top, bottom = sorted((top, int(py[i + 1])))
        for dot_y in range(max(top, 0), min(bottom, 4 * rows - 1) + 1):
            codes[dot_y // 4, px[i] // 2] |= _DOTS[dot_y % 4][px[i] % 2]
    return [[chr(0x2800 + c) if c else " " for c in row] for row in codes]


def _ansi(s: str, colour: str) -> str:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"\x1b[38;2;{r};{g};{b}m{s}\x1b[0m"
