"""Results -> rich tables, JSON documents, CSV rows, plain lines. Never prints.

Every function takes a :class:`autodx.result.Result` and reads what it holds from the
result model's table, so nothing here depends on which command made it. Table and
plain numbers are shown with 12 significant digits (6 at --precision 32); JSON and CSV
carry the full round-trip value.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .limits import MAX_HELD_ROWS, MAX_TEXT_NUMBERS
from .result import SCHEMA, Result

MAX_TABLE_ROWS = 20   # points shown in a table; the rest are counted in a caption
MAX_TABLE_ENTRIES = 200
WIDE_POINTS = 4       # up to this many points: one column per point
MAX_SYMBOLIC = 300    # characters of a symbolic derivative shown in a table


def number(x: Any, precision: int = 64, digits: int | None = None) -> str:
    """A number for a person: ``digits`` significant digits (default 12, or 6 at
    --precision 32), no negative zero."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x + 0.0:.{digits or (12 if precision == 64 else 6)}g}"


def exact(x: Any) -> str:
    """A number for a machine: the shortest text that reads back to the same float."""
    x = float(x)
    return repr(x + 0.0) if math.isfinite(x) else ("nan" if math.isnan(x) else
                                                   ("inf" if x > 0 else "-inf"))


def point_text(at: dict, precision: int = 64, digits: int | None = None) -> str:
    def show(v):
        if isinstance(v, list):
            inner = ", ".join(number(x, precision, digits) for x in v[:6])
            return f"[{inner}{', ...' if len(v) > 6 else ''}]"
        return number(v, precision, digits)
    return ", ".join(f"{k}={show(v)}" for k, v in at.items()) or "(no variables)"


def to_jsonable(value: Any, warnings: list[str] | None = None, where: str = "") -> Any:
    """Floats, and nested lists of them for arrays (:class:`autodx.jsontext.Numbers`, one
    line of JSON); a non-finite number becomes None plus a warning (one for an array,
    which counts them). Arrays are converted
    whole by numpy (a million numbers in a few hundredths of a second)."""
    from .jsontext import Numbers

    if isinstance(value, (list, tuple)):
        return Numbers(to_jsonable(v, warnings, where) for v in value)
    a = np.asarray(value, dtype=np.float64)
    finite = np.isfinite(a)
    if finite.all():
        return Numbers(a.tolist()) if a.ndim else float(a)
    if warnings is not None:  # one line per array: a tensor may hold a million of them
        bad = a[~finite]
        kinds = ", ".join(k for k, seen in (("inf", (bad > 0).any()), ("-inf", (bad < 0).any()),
                                            ("nan", np.isnan(bad).any())) if seen)
        warnings.append(f"{where} is {float(bad[0])} (not finite)".strip() if bad.size == 1
                        else f"{where}: {bad.size:,} entries are not finite ({kinds})".strip())
    if not a.ndim:
        return None
    held = a.astype(object)
    held[~finite] = None
    return Numbers(held.tolist())


# ---------------------------------------------------------------- warnings

_WHAT = {"value": "the value", "derivatives": "a derivative", "hessian": "the Hessian",
         "hvp": "the Hessian-vector product", "partial": "the partial",
         "grad": "the gradient", "jacobian": "the Jacobian"}


def _where(r: Result, i: int, offset: int = 0) -> str:
    """Row i for a warning: its values, or its number when they were not kept."""
    return point_text(r.rows.point(i)) if r.rows.batched is not None else \
        f"row {offset + i + 1}"


def _finite(tree, count: int) -> np.ndarray:
    """Per row: every number of ``tree`` (an array, or a dict of them) is finite."""
    leaves = list(tree.values()) if isinstance(tree, dict) else [tree]
    return np.all([np.isfinite(np.asarray(leaf)).reshape(count, -1).all(1)
                   for leaf in leaves], axis=0)


class NonfiniteTally:
    """The results that are not finite, counted over the chunks of rows of a command
    (:meth:`add` each chunk's result in order), and their warning lines."""

    def __init__(self):
        self.rows = 0
        self.bad: dict[str, list] = {}  # name -> [rows not finite, the first's place]

    def add(self, r: Result) -> None:
        for name in _WHAT:
            if name not in r.values:
                continue
            finite = _finite(r.values[name], r.rows.count)
            if not finite.all():
                entry = self.bad.setdefault(name, [0, None])
                if entry[1] is None:
                    entry[1] = _where(r, int(np.argmin(finite)), self.rows)
                entry[0] += int((~finite).sum())
        self.rows += r.rows.count

    def lines(self) -> list[str]:
        """One line per kind of result that is not finite somewhere, with how many
        points."""
        s = "s" if self.rows > 1 else ""
        return [f"{_WHAT[name]} is not finite at {count} of {self.rows} point{s} (first: "
                f"{first}): outside the domain, or a singularity"
                for name, (count, first) in self.bad.items()]


def nonfinite_warnings(r: Result) -> list[str]:
    """One line per kind of result that is not finite somewhere, with how many points."""
    tally = NonfiniteTally()
    tally.add(r)
    return tally.lines()


def noise_warnings(r: Result) -> list[str]:
    """grad from order 10 on: where the estimated rounding noise of the derivatives
    (:mod:`autodx.noise`) passes --check's relative tolerance."""
    if "noise" not in r.values:
        return []
    from .limits import TOLERANCE

    tol = TOLERANCE[r.precision][0]
    noise = np.asarray(r.values["noise"], dtype=float).reshape(r.rows.count, -1)
    bad = noise > tol
    rows = bad.any(axis=1)
    if not rows.any():
        return []
    first = int(np.argmax(rows))
    k = int(np.argmax(bad[first])) + 1
    worst = int(np.nanargmax(noise[first])) + 1
    count = int(rows.sum())
    many = f" ({count} of {r.rows.count} points; first shown)" if r.rows.count > 1 else ""
    return [f"rounding noise: at {_where(r, first)}, the derivatives from order {k} on may "
            f"be off by more than {tol:g} relative (order {worst}: about "
            f"{noise[first, worst - 1]:.0e}){many}; their Taylor terms cancel more digits "
            f"than float{r.precision} holds; --check compares them with exact values"]


def warnings_of(r: Result) -> list[str]:
    """Every warning line a result calls for, in the order they are shown."""
    return nonfinite_warnings(r) + noise_warnings(r) + r.notes


# ---------------------------------------------------------------- table

def table(r: Result, width: int | None = None, digits: int | None = None):
    """A rich renderable for a person, that never drops a digit or a column: the first
    layout that fits in ``width`` columns (None: any width fits), else one block per
    point, whose labels and formulas wrap while numbers never do."""
    show = _Shown(r, digits, width)
    layouts = [_check_table] if r.checks is not None else []
    if r.checks is None:
        if show.matrix and len(show.points) <= WIDE_POINTS and not r.show_symbolic:
            layouts.append(_matrices)
        if len(show.points) <= WIDE_POINTS and r.spec.wide:
            layouts.append(_wide)
        layouts.append(_point_rows)
    layouts.append(_blocks)
    for layout in layouts:
        renderable = layout(show)
        if width is None or fits(renderable, width):
            return renderable
    return renderable


def fits(renderable, width: int) -> bool:
    """Whether rich can lay ``renderable`` out in ``width`` columns without cutting a
    cell that may not wrap (numbers)."""
    from rich.console import Console
    from rich.measure import Measurement

    console = Console(width=1 << 20)  # measured unbounded: rich clamps to the width
    return Measurement.get(console, console.options, renderable).minimum <= width


class _Shown:
    """What a table shows of a result: the first points, their entries, formatted."""

    def __init__(self, r: Result, digits: int | None, width: int | None = None):
        self.r = r
        self.digits = digits
        self.width = width
        count = min(r.rows.count, MAX_TABLE_ROWS)
        if r.spec.points_in_csv:
            self.points = [r.rows.point(i) for i in range(count)]
        else:  # shared parameters: show each example's own data
            self.points = [{"row": i + 1, **(r.rows.point(i, shared=False)
                                             if r.rows.batched is not None else {})}
                           for i in range(count)]
        held = r.rows.count <= MAX_HELD_ROWS and \
            r.rows.count * max(len(r.keys()), 1) <= MAX_TEXT_NUMBERS  # what JSON holds
        json = " or json" if held else ""
        self.caption = (f"first {count} of {r.rows.count} points; use --format csv{json}, or "
                        "--out FILE, for all") if count < r.rows.count else None
        self.entries = [r.entries(i)[:MAX_TABLE_ENTRIES] for i in range(count)]
        self.labels = [label for label, _ in self.entries[0]] if self.entries else []
        if len(r.keys()) > MAX_TABLE_ENTRIES:
            self.caption = (f"first {MAX_TABLE_ENTRIES} of {len(r.keys())} entries; use "
                            "--format json or --out FILE for all")
        self.matrix = r.spec.matrix(r) if len(r.coordinates) <= 12 else None
        self.title = f"f = {r.expression}"

    def number(self, x) -> str:
        return number(x, self.r.precision, self.digits)

    def where(self, point: dict) -> str:
        return point_text(point, self.r.precision, self.digits)

    def table(self, title: str | None = None, caption: str | None = None):
        """A table whose title and caption stay on one line where the width allows."""
        from rich.table import Table

        longest = max(len(title or ""), len(caption or ""))
        return Table(title=title, caption=caption, title_justify="left", show_edge=False,
                     caption_justify="left", min_width=min(longest, self.width or 100))


def _label_column(t, header: str = "") -> None:
    t.add_column(header, style="bold", overflow="fold")


def _number_column(t, header: str) -> None:
    t.add_column(header, justify="right", no_wrap=True, overflow="fold")


def _wide(show: _Shown):
    """A few points as columns, the entries as rows (and their formulas)."""
    r = show.r
    t = show.table(title=show.title, caption=show.caption)
    _label_column(t, r.spec.entry_header)
    for point in show.points:
        _number_column(t, show.where(point))
    if r.show_symbolic:
        t.add_column("symbolic", overflow="fold")
    for j, label in enumerate(show.labels):
        t.add_row(label, *(show.number(e[j][1]) for e in show.entries),
                  *([symbolic_cell(r, j)] if r.show_symbolic else []))
    return t


def _point_rows(show: _Shown):
    """A row per point, a column per entry (and the formulas in a table below)."""
    from rich.console import Group

    t = show.table(title=show.title, caption=show.caption)
    _label_column(t, "point")
    for label in show.labels:
        _number_column(t, label)
    for point, e in zip(show.points, show.entries):
        t.add_row(show.where(point), *(show.number(v) for _, v in e))
    if not show.r.show_symbolic:
        return t
    return Group(t, _symbolic_table(show.r, show.labels, "symbolic", ""))


def _blocks(show: _Shown):
    """One narrow block per point: the entries down, the numbers beside them."""
    from rich.console import Group

    parts = []
    for point, e in zip(show.points, show.entries):
        t = show.table(title=f"{show.title}\nat {show.where(point)}")
        _label_column(t, show.r.spec.entry_header)
        _number_column(t, "value")
        for label, v in e:
            t.add_row(label, show.number(v))
        parts.append(t)
    if show.r.show_symbolic:
        parts.append(_symbolic_table(show.r, show.labels, "symbolic", ""))
    if show.caption:
        from rich.text import Text

        parts.append(Text(show.caption))
    return Group(*parts)


def _matrices(show: _Shown):
    from rich.console import Group

    return Group(*(_matrix(show, i, point) for i, point in enumerate(show.points)))


def symbolic_cell(r: Result, j: int) -> str:
    if r.symbolic is None:
        return "(not available)"
    text = r.symbolic[j]
    return text if len(text) <= MAX_SYMBOLIC else \
        text[:MAX_SYMBOLIC] + f"... ({len(text):,} characters: see --format json)"


def _symbolic_table(r: Result, labels: list[str], title: str, first: str):
    from rich.table import Table

    t = Table(title=title, title_justify="left", show_edge=False)
    t.add_column(first, style="bold", overflow="fold")
    t.add_column("symbolic", overflow="fold")
    for j, label in enumerate(labels):
        t.add_row(label, symbolic_cell(r, j))
    return t


_VERDICT_STYLE = {"ok": "green", "disagrees": "bold red", "not checkable": "yellow"}


def _check_table(show: _Shown):
    """One row per number: autodx's value, its distances from the exact value and from a
    finite difference (± its bound), and the verdict; reasons as numbered notes."""
    from rich.text import Text

    r, caption = show.r, show.caption
    t = show.table(title=show.title)
    _label_column(t)
    _number_column(t, "autodx")
    if r.show_symbolic:
        t.add_column("symbolic", min_width=8, overflow="fold")
    _number_column(t, "error vs\nexact")
    _number_column(t, "error vs\nfinite diff.")
    t.add_column("verdict", min_width=6, overflow="fold")
    notes: list[str] = []
    shown = 0
    for i, point in enumerate(show.points):
        if len(show.points) > 1:
            t.add_row(Text(f"at {show.where(point)}", style="bold"), end_section=False)
        row = r.checks[i]
        for j, ((label, value), v) in enumerate(zip(r.entries(i), row)):
            if shown == MAX_TABLE_ENTRIES:
                caption = f"first {MAX_TABLE_ENTRIES} numbers; --format json has all"
                break
            shown += 1
            cells = [label, show.number(value)]
            if r.show_symbolic:
                cells.append(symbolic_cell(r, j) if i == 0 else "")
            cells += ["" if v.error is None else f"{v.error:.2g}",
                      "" if v.fd_error is None else f"{v.fd_error:.2g} ± {v.fd_bound:.0e}"]
            verdict = Text(v.verdict, style=_VERDICT_STYLE[v.verdict])
            if v.why:
                if v.why not in notes:
                    notes.append(v.why)
                verdict.append(f" [{notes.index(v.why) + 1}]")
            cells.append(verdict)
            t.add_row(*cells, end_section=j == len(row) - 1)
    s = r.check_summary
    t.caption = "\n".join(([caption] if caption else []) + [
        f"[{k}] {why}" for k, why in enumerate(notes, start=1)] + [
        f"tolerance: {s['relative_tolerance']:g} relative + {s['absolute_tolerance']:g}; "
        "exact: the symbolic derivative at 50 digits; finite diff.: central differences, "
        "Richardson-extrapolated, ± their error bound; --format json has the values"])
    return t


def _matrix(show: _Shown, i: int, point: dict):
    r, spec = show.r, show.r.spec
    title = f"{spec.matrix_title} of f = {r.expression}"
    caption = f"at {show.where(point)}"
    if not spec.matrix_values:
        caption += f"; f = {show.number(r.values['value'][i])}"
    t = show.table(title=title, caption=caption)
    _label_column(t)
    if spec.matrix_values:
        _number_column(t, "f")
    for c in r.coordinates:
        _number_column(t, c)
    values = np.atleast_1d(r.values["value"][i]) if spec.matrix_values else None
    for k, (label, row) in enumerate(zip(spec.matrix_rows(r), r.values[show.matrix][i])):
        first = [show.number(values[k])] if values is not None else []
        t.add_row(label, *first, *(show.number(v) for v in row))
    return t


def formula_table(r: Result):
    """The symbolic derivatives alone (``--symbolic`` without a point)."""
    return _symbolic_table(r, r.labels(), f"f = {r.expression}", "derivative")


def formula_lines(r: Result) -> list[str]:
    """The symbolic derivatives for ``$(...)``: one a line, without f itself (nor, for a
    vector-valued f, its outputs)."""
    return [text for key, text in zip(r.keys(), r.symbolic)
            if key and not (isinstance(key, dict) and "f" in key and "d" not in key)]


# ---------------------------------------------------------------- plain, CSV, JSON

def plain(r: Result, digits: int | None = None) -> list[str]:
    """Bare numbers for ``$(...)``: each row's lines from the result model (grad one
    order a line; hessian one matrix row a line; the others one point a line)."""
    return [" ".join(number(x, r.precision, digits) for x in np.ravel(values))
            for i in range(r.rows.count) for values in r.plain_lines(i)]


def document(r: Result) -> dict:
    """The JSON document of the contract; non-finite numbers become null plus a warning."""
    warnings: list[str] = []
    items = []
    for i in range(r.rows.count):
        where = f"point {i + 1}"
        item: dict[str, Any] = {"at": {k: to_jsonable(v, warnings, f"{where}: {k}")
                                       for k, v in r.rows.point(i).items()}}
        item.update(r.json_item(i, lambda v, what: to_jsonable(
            np.asarray(v), warnings, f"{where}: {what}")))
        if r.checks is not None:
            item["check"] = [v.as_json(label) for label, v in zip(r.labels(), r.checks[i])]
        items.append(item)
    doc: dict[str, Any] = {"command": r.command.value, "expression": r.expression,
                           "coordinates": r.coordinates}
    if r.indices is not None:
        doc["indices"] = list(r.indices)
    if r.outputs is not None:
        doc["outputs"] = list(r.outputs)
    if r.timing is not None:
        doc["timing"] = r.timing
    if r.show_symbolic:
        doc["symbolic"] = r.symbolic_json()
    if r.check_summary is not None:
        doc["check"] = r.check_summary
    doc.update(results=items, warnings=warnings + noise_warnings(r) + r.notes,
               schema=SCHEMA)
    return doc
