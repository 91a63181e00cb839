"""The Python API's result objects, and how they show: a readable ``repr`` in a terminal,
an HTML table in Jupyter (``_repr_html_``, every text escaped).

:class:`GradResult` is grad at one point; :class:`GradRows` is grad at many rows (the
rows of ``data=``), arrays with one row per point, indexable into GradResults. Long
results show their first entries and rows and say how many more there are; the
attributes always hold everything.

Example:
    >>> r = GradResult({"x": 1.0}, ["x"], 1.0, {1: 4.0, 2: 10.0})
    >>> r
    GradResult at x=1
      f         1
      df/dx     4
      d2f/dx^2  10
    >>> "<td>d2f/dx^2</td><td>10</td>" in r._repr_html_()
    True
"""
from __future__ import annotations

import html
import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from .result import flat_labels, partial_label

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

SHOWN_ENTRIES = 40  # entries of one point a repr or table shows
SHOWN_ROWS = 20     # rows of a batch a repr or table shows
DIGITS = 12         # significant digits shown (the attributes hold every digit)


def number(value: Any) -> str:
    """A number as shown: 12 significant digits, ``nan``, ``inf``."""
    v = float(value)
    return repr(v) if not math.isfinite(v) else f"{v:.{DIGITS}g}"


def text_table(title: str, header: Sequence[str] | None, rows: Sequence[Sequence[str]],
               more: str = "") -> str:
    """Columns aligned by their widths under a title line, indented two spaces."""
    lines = ([list(header)] if header else []) + [list(r) for r in rows]
    widths = [max(len(line[j]) for line in lines) for j in range(len(lines[0]))] \
        if lines else []
    body = ["  " + "  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip()
            for line in lines]
    return "\n".join([title, *body] + ([f"  {more}"] if more else []))


def html_table(caption: str, header: Sequence[str] | None, rows: Sequence[Sequence[str]],
               more: str = "") -> str:
    """An HTML table; every text is escaped."""
    e = html.escape
    head = "" if not header else \
        "<thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr></thead>"
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>"
                   for row in rows)
    foot = f"<p>{e(more)}</p>" if more else ""
    return (f"<table><caption>{e(caption)}</caption>{head}<tbody>{body}</tbody>"
            f"</table>{foot}")


def _more(shown: int, total: int, what: str) -> str:
    return f"... and {total - shown:,} more {what}" if total > shown else ""


def _point_text(at: dict[str, Any]) -> str:
    def value(v):
        if isinstance(v, (list, tuple)) or getattr(v, "ndim", 0):
            return "[" + ", ".join(number(x) for x in list(v)) + "]"
        return number(v)
    return ", ".join(f"{k}={value(v)}" for k, v in at.items())


def entry_keys(n: int, order: int, scalar: bool) -> Iterator[tuple[int, ...]]:
    """The distinct partials of orders 1..order over n coordinates, in display order."""
    for k in range(1, order + 1):
        yield from ([(0,) * k] if scalar else
                    itertools.combinations_with_replacement(range(n), k))


# ---------------------------------------------------------------- one point

@dataclass(repr=False)
class GradResult:
    """Value and derivatives of orders 1..N at one point.

    ``derivatives[k]`` is a float when one scalar variable is differentiated, else the
    k-th derivative tensor (shape ``(n,) * k``) over ``coordinates``.
    """

    at: dict[str, Any]
    coordinates: list[str]
    value: float
    derivatives: dict[int, Any]

    @property
    def scalar(self) -> bool:
        """One scalar coordinate: every derivative is a number."""
        return all(isinstance(d, float) for d in self.derivatives.values())

    def entries(self) -> list[tuple[str, float]]:
        """``[("f", value), ("df/dx", ...), ("d2f/dx dy", ...), ...]``: f and each
        distinct partial once, as the CLI's table shows them."""
        out = [("f", float(self.value))]
        for key in entry_keys(len(self.coordinates), max(self.derivatives, default=0),
                              self.scalar):
            d = self.derivatives[len(key)]
            out.append((partial_label(self.coordinates, key),
                        float(d if self.scalar else d[key])))
        return out

    def _shown(self) -> tuple[list[list[str]], str]:
        entries = self.entries()
        rows = [[label, number(v)] for label, v in entries[:SHOWN_ENTRIES]]
        return rows, _more(len(rows), len(entries), "entries (see .derivatives)")

    def __repr__(self) -> str:
        rows, more = self._shown()
        return text_table(f"GradResult at {_point_text(self.at) or 'no variables'}", None,
                          rows, more)

    def _repr_html_(self) -> str:
        rows, more = self._shown()
        return html_table(f"grad at {_point_text(self.at)}", ["", "value"], rows, more)


# ---------------------------------------------------------------- many rows

@dataclass(repr=False)
class GradRows:
    """Value and derivatives of orders 1..N at every row of ``data=``: arrays with one
    row per point, in the data's order.

    ``value`` has shape ``(rows,)``; ``derivatives[k]`` shape ``(rows,)`` when one
    scalar variable is differentiated, else ``(rows,) + (n,) * k``; ``at`` holds every
    variable's values, rows first (the ``at=`` values repeated). ``rows[i]`` is the
    :class:`GradResult` of row i.
    """

    at: dict[str, npt.NDArray[np.float64]]
    coordinates: list[str]
    value: npt.NDArray[np.float64]
    derivatives: dict[int, npt.NDArray[np.float64]]

    def __len__(self) -> int:
        return int(self.value.shape[0])

    def __getitem__(self, i: int) -> GradResult:
        if not -len(self) <= i < len(self):
            raise IndexError(f"row {i} of {len(self)}")
        scalar = all(d.ndim == 1 for d in self.derivatives.values())
        return GradResult(
            {k: v[i].item() if v.ndim == 1 else v[i].tolist() for k, v in self.at.items()},
            self.coordinates, float(self.value[i]),
            {k: float(d[i]) if scalar else d[i] for k, d in self.derivatives.items()})

    def __iter__(self) -> Iterator[GradResult]:
        return (self[i] for i in range(len(self)))

    def _shown(self) -> tuple[list[str], list[list[str]], str]:
        layout = {k: None if v.ndim == 1 else v.shape[1] for k, v in self.at.items()}
        header = ["row", *flat_labels(layout)]
        rows, entries = [], []
        for i in range(min(len(self), SHOWN_ROWS)):
            point = self[i]
            entries = point.entries()[:SHOWN_ENTRIES]
            inputs = [x for k in self.at for x in (
                [point.at[k]] if layout[k] is None else point.at[k])]
            rows.append([str(i), *map(number, inputs), *(number(v) for _, v in entries)])
        header += [label for label, _ in entries]
        return header, rows, _more(len(rows), len(self), "rows")

    def __repr__(self) -> str:
        header, rows, more = self._shown()
        return text_table(f"GradRows: {len(self):,} rows, coordinates "
                          f"{', '.join(self.coordinates)}", header, rows, more)

    def _repr_html_(self) -> str:
        header, rows, more = self._shown()
        return html_table(f"grad at {len(self):,} rows", header, rows, more)
