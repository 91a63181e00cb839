"""Results -> rich tables, JSON documents, CSV rows, plain lines. Never prints.

Table and plain numbers are shown with 12 significant digits (6 at --precision 32),
enough for every digit that float arithmetic can vouch for; JSON and CSV carry the
full round-trip value.
"""
from __future__ import annotations

import enum
import itertools
import math
from typing import Any, Sequence

import numpy as np

from .data import to_jsonable

MAX_TABLE_ROWS = 200
WIDE_POINTS = 4  # up to this many points: one column per point


class Format(str, enum.Enum):
    """How results are written to stdout."""

    table = "table"
    json = "json"
    csv = "csv"
    plain = "plain"


def number(x: Any, precision: int = 64) -> str:
    """A number for a person: 12 (or 6) significant digits, no negative zero."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x + 0.0:.{12 if precision == 64 else 6}g}"


def exact(x: Any) -> str:
    """A number for a machine: the shortest text that reads back to the same float."""
    x = float(x)
    return repr(x + 0.0) if math.isfinite(x) else ("nan" if math.isnan(x) else
                                                   ("inf" if x > 0 else "-inf"))


# ---------------------------------------------------------------- partial derivatives

def partial_label(coords: Sequence[str], combo: Sequence[int]) -> str:
    """``d2f/dx dy`` for combo (0, 1) over coordinates x, y; ``d3f/dx^3`` for (0, 0, 0)."""
    k = len(combo)
    parts = []
    for i, group in itertools.groupby(combo):
        power = len(list(group))
        parts.append(f"d{coords[i]}" + (f"^{power}" if power > 1 else ""))
    return f"d{k if k > 1 else ''}f/" + " ".join(parts)


def distinct_partials(n: int, order: int):
    """Each distinct partial of an order over n coordinates once (a sorted index tuple)."""
    return itertools.combinations_with_replacement(range(n), order)


def grad_entries(result, scalar: bool) -> list[tuple[str, float]]:
    """(label, value) for every distinct partial of every order of one result."""
    coords = result.coordinates
    rows = []
    for k, d in result.derivatives.items():
        if scalar:
            rows.append((partial_label(coords, (0,) * k), d))
        else:
            for combo in distinct_partials(len(coords), k):
                rows.append((partial_label(coords, combo), np.asarray(d)[combo]))
    return rows


def is_scalar(results: Sequence) -> bool:
    return not results or not isinstance(results[0].derivatives.get(1), np.ndarray)


def point_text(at: dict, precision: int = 64) -> str:
    def show(v):
        return "[" + ", ".join(number(x, precision) for x in v) + "]" if isinstance(v, list) \
            else number(v, precision)
    return ", ".join(f"{k}={show(v)}" for k, v in at.items()) or "(no variables)"


# ---------------------------------------------------------------- grad

def grad_table(expression: str, results: Sequence, precision: int = 64):
    """A rich Table: one row per derivative and one column per point (or the transpose)."""
    from rich.table import Table

    scalar = is_scalar(results)
    entries = [[("f", r.value)] + grad_entries(r, scalar) for r in results]
    labels = [label for label, _ in entries[0]]
    title = f"f = {expression}"
    table = Table(title=title, title_justify="left", show_edge=False,
                  min_width=min(len(title), 100))
    if len(results) <= WIDE_POINTS:
        table.add_column("derivative", style="bold")
        for r in results:
            table.add_column(point_text(r.at, precision), justify="right")
        for i, label in enumerate(labels[:MAX_TABLE_ROWS]):
            table.add_row(label, *(number(e[i][1], precision) for e in entries))
        _caption(table, len(labels))
    else:
        table.add_column("point", style="bold")
        for label in labels:
            table.add_column(label, justify="right")
        for r, e in zip(results[:MAX_TABLE_ROWS], entries):
            table.add_row(point_text(r.at, precision), *(number(v, precision) for _, v in e))
        _caption(table, len(results))
    return table


def _caption(table, rows: int) -> None:
    if rows > MAX_TABLE_ROWS:
        table.caption = (f"first {MAX_TABLE_ROWS} of {rows} rows; use --format json or "
                         "--out FILE for all")


def grad_plain(results: Sequence, precision: int = 64) -> list[str]:
    """One line per order per point; a tensor's entries space-separated (row-major)."""
    lines = []
    for r in results:
        for d in r.derivatives.values():
            lines.append(" ".join(number(x, precision) for x in np.ravel(d)))
    return lines


def grad_csv(results: Sequence) -> list[list[str]]:
    """A header row, then one row per point: the point, the value, each distinct partial."""
    scalar = is_scalar(results)
    first = results[0]
    at_names = _flat_at_names(first.at)
    header = at_names + ["value"] + [label for label, _ in grad_entries(first, scalar)]
    rows = [header]
    for r in results:
        rows.append([exact(v) for v in _flat_at_values(r.at)] + [exact(r.value)] +
                    [exact(v) for _, v in grad_entries(r, scalar)])
    return rows


def grad_json(expression: str, results: Sequence, warnings: list[str]) -> dict:
    """The JSON document of the contract; non-finite numbers become null plus a warning."""
    items = []
    for i, r in enumerate(results):
        where = f"point {i + 1}"
        items.append({
            "at": r.at,
            "value": to_jsonable(r.value, warnings, f"{where}: the value"),
            "derivatives": {str(k): to_jsonable(d, warnings, f"{where}: derivative {k}")
                            for k, d in r.derivatives.items()},
        })
    return {"command": "grad", "expression": expression,
            "coordinates": results[0].coordinates if results else [],
            "results": items, "warnings": warnings}


def grad_arrays(results: Sequence) -> dict[str, np.ndarray]:
    """Arrays for .npz (``value``, ``d1`` ... ``dN``); .npy takes the highest order."""
    out = {"value": np.array([r.value for r in results])}
    for k in results[0].derivatives:
        out[f"d{k}"] = np.array([r.derivatives[k] for r in results])
    return out


def nonfinite_warnings(results: Sequence) -> list[str]:
    """One line per point whose value or derivatives are not finite."""
    lines = []
    for i, r in enumerate(results):
        bad = [] if math.isfinite(r.value) else ["the value"]
        bad += [f"derivative {k}" for k, d in r.derivatives.items()
                if not np.all(np.isfinite(d))]
        if bad:
            lines.append(f"at {point_text(r.at)}, not finite: {', '.join(bad)} "
                         "(outside the domain, or at a singularity)")
    return lines


def _flat_at_names(at: dict) -> list[str]:
    names = []
    for k, v in at.items():
        names += [f"{k}[{i}]" for i in range(len(v))] if isinstance(v, list) else [k]
    return names


def _flat_at_values(at: dict) -> list[float]:
    values: list[float] = []
    for v in at.values():
        values += v if isinstance(v, list) else [v]
    return values
