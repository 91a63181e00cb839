"""Results -> rich tables, JSON documents, CSV rows, plain lines, arrays. Never prints.

Every function takes an :class:`autodx.api.Output` (arrays with one row per point).
Table and plain numbers are shown with 12 significant digits (6 at --precision 32);
JSON and CSV carry the full round-trip value.
"""
from __future__ import annotations

import itertools
import math
from typing import Any, Iterator, Sequence

import numpy as np

from .data import to_jsonable

MAX_TABLE_ROWS = 20   # points shown in a table; the rest are counted in a caption
MAX_TABLE_ENTRIES = 200
WIDE_POINTS = 4       # up to this many points: one column per point


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


def partial_label(coords: Sequence[str], combo: Sequence[int]) -> str:
    """``d2f/dx dy`` for combo (0, 1) over coordinates x, y; ``d3f/dx^3`` for (0, 0, 0)."""
    k = len(combo)
    parts = []
    for i, group in itertools.groupby(sorted(combo)):
        power = len(list(group))
        parts.append(f"d{coords[i]}" + (f"^{power}" if power > 1 else ""))
    return f"d{k if k > 1 else ''}f/" + " ".join(parts)


def point_text(at: dict, precision: int = 64) -> str:
    def show(v):
        if isinstance(v, list):
            inner = ", ".join(number(x, precision) for x in v[:6])
            return f"[{inner}{', ...' if len(v) > 6 else ''}]"
        return number(v, precision)
    return ", ".join(f"{k}={show(v)}" for k, v in at.items()) or "(no variables)"


# ---------------------------------------------------------------- entries per row

def entry_keys(out) -> list:
    """What each entry of a row is, in display order: ``[]`` for f, a list of coordinate
    positions for a partial, ``{"hvp": i}`` for row i of H v (not for perex). The
    symbolic worker gets the same keys, so its answers line up with :func:`entries`."""
    n = len(out.coordinates)
    if out.command == "grad":
        keys: list = [[]]
        for k in out.results["derivatives"]:
            keys += [[0] * k] if out.extra["scalar"] else \
                [list(c) for c in itertools.combinations_with_replacement(range(n), k)]
        return keys
    if out.command == "hessian":
        if "hvp" in out.results:
            return [[]] + [{"hvp": i} for i in range(n)]
        return [[]] + [list(c) for c in itertools.combinations_with_replacement(range(n), 2)]
    if out.command == "jvp-partial":
        return [[], list(out.extra["indices"])]
    raise ValueError(f"{out.command} has no entry keys")


def entry_label(coords: Sequence[str], key) -> str:
    """``f``, ``d2f/dx dy`` or ``Hv[x]`` for an entry key."""
    if key == []:
        return "f"
    if isinstance(key, dict):
        return f"Hv[{coords[key['hvp']]}]"
    return partial_label(coords, key)


def _entry_value(out, i: int, key):
    r = out.results
    if key == []:
        return r["f"][i] if out.command == "jvp-partial" else r["value"][i]
    if isinstance(key, dict):
        return r["hvp"][i][key["hvp"]]
    if out.command == "grad":
        d = r["derivatives"][len(key)][i]
        return d if out.extra["scalar"] else d[tuple(key)]
    if out.command == "hessian":
        return r["hessian"][i][tuple(key)]
    return r["value"][i]


def entries(out, i: int, keys: list | None = None) -> list[tuple[str, Any]]:
    """(label, number) for everything computed at row i, in display order; ``keys`` from
    :func:`entry_keys`, when a caller goes through many rows."""
    if out.command == "perex":
        return [(f"df/d{c}", v) for c, v in zip(out.coordinates, out.results["grad"][i])]
    return [(entry_label(out.coordinates, key), _entry_value(out, i, key))
            for key in (entry_keys(out) if keys is None else keys)]


def _finite_rows(out) -> list[tuple[str, np.ndarray]]:
    """(result name, per-point mask: every number of that result is finite)."""
    names = {"grad": ["value", "derivatives"], "hessian": ["value", "hessian", "hvp"],
             "jvp-partial": ["value"], "perex": ["grad"]}[out.command]
    masks = []
    for name in names:
        if name in out.results:
            leaves = _leaves(out.results[name])
            masks.append((name, np.all([np.isfinite(leaf).reshape(out.rows.count, -1).all(1)
                                        for leaf in leaves], axis=0)))
    return masks


def _leaves(tree) -> list:
    if isinstance(tree, dict):
        return [leaf for v in tree.values() for leaf in _leaves(v)]
    return [np.asarray(tree)]


_WHAT = {"value": "the value", "derivatives": "a derivative", "hessian": "the Hessian",
         "hvp": "the Hessian-vector product", "grad": "the gradient"}


def _where(out, i: int) -> str:
    """Row i for a warning: its values, or its number when they were not kept."""
    return point_text(out.rows.point(i)) if out.rows.batched is not None else f"row {i + 1}"


def nonfinite_warnings(out) -> list[str]:
    """One line per kind of result that is not finite somewhere, with how many points."""
    lines = []
    for name, finite in _finite_rows(out):
        if not finite.all():
            first = int(np.argmin(finite))
            where = _where(out, first)
            what = _WHAT[name] if out.command != "jvp-partial" else "the partial"
            count = out.rows.count
            lines.append(f"{what} is not finite at {int((~finite).sum())} of {count} "
                         f"point{'s' if count > 1 else ''} (first: {where}): outside the "
                         "domain, or a singularity")
    return lines


def noise_warnings(out) -> list[str]:
    """grad from order 10 on: where the estimated rounding noise of the derivatives
    (:func:`autodx.engine.with_noise`) passes --check's relative tolerance."""
    if "noise" not in out.results:
        return []
    from .limits import TOLERANCE

    precision = out.extra["precision"]
    tol = TOLERANCE[precision][0]
    noise = np.asarray(out.results["noise"], dtype=float).reshape(out.rows.count, -1)
    bad = noise > tol
    rows = bad.any(axis=1)
    if not rows.any():
        return []
    first = int(np.argmax(rows))
    k = int(np.argmax(bad[first])) + 1
    worst = int(np.nanargmax(noise[first])) + 1
    where = _where(out, first)
    count = int(rows.sum())
    many = f" ({count} of {out.rows.count} points; first shown)" if out.rows.count > 1 else ""
    return [f"rounding noise: at {where}, the derivatives from order {k} on may be off by "
            f"more than {tol:g} relative (order {worst}: about {noise[first, worst - 1]:.0e})"
            f"{many}; their Taylor terms cancel more digits than float{precision} holds; "
            "--check compares them with exact values"]


# ---------------------------------------------------------------- table

def table(out, precision: int = 64):
    """A rich renderable for a person."""
    from rich.console import Group
    from rich.table import Table

    title = f"f = {out.expression}"
    shown = min(out.rows.count, MAX_TABLE_ROWS)
    if out.command == "perex":  # the parameters are shared: show each example's own data
        points = [{"row": i + 1, **(out.rows.point(i, shared=False)
                                    if out.rows.batched is not None else {})}
                  for i in range(shown)]
    else:
        points = [out.rows.point(i) for i in range(shown)]
    caption = (f"first {shown} of {out.rows.count} points; use --format csv or json, or "
               "--out FILE, for all") if shown < out.rows.count else None
    if "check" in out.extra:
        return _check_table(out, points, title, caption, precision)
    symbolic = out.extra.get("symbolic", False)
    if out.command == "hessian" and "hessian" in out.results and shown <= WIDE_POINTS \
            and len(out.coordinates) <= 12 and symbolic is False:
        tables = [_matrix(out, i, points[i], precision) for i in range(shown)]
        return Group(*tables)
    labeled = [entries(out, i) for i in range(shown)]
    labels = [label for label, _ in labeled[0]]
    t = Table(title=title, title_justify="left", show_edge=False, caption=caption,
              min_width=min(len(title), 100))
    if shown <= WIDE_POINTS and out.command != "perex":
        t.add_column("derivative" if out.command != "hessian" else "", style="bold")
        for p in points:
            t.add_column(point_text(p, precision), justify="right")
        if symbolic is not False:
            t.add_column("symbolic")
        for j, label in enumerate(labels[:MAX_TABLE_ENTRIES]):
            t.add_row(label, *(number(e[j][1], precision) for e in labeled),
                      *([_symbolic_cell(symbolic, j)] if symbolic is not False else []))
        if len(labels) > MAX_TABLE_ENTRIES:
            t.caption = (f"first {MAX_TABLE_ENTRIES} of {len(labels)} entries; use --format "
                         "json or --out FILE for all")
        return t
    t.add_column("point", style="bold")
    for label in labels[:MAX_TABLE_ENTRIES]:
        t.add_column(label, justify="right")
    for p, e in zip(points, labeled):
        t.add_row(point_text(p, precision), *(number(v, precision) for _, v in
                                              e[:MAX_TABLE_ENTRIES]))
    if symbolic is False:
        return t
    s = Table(title="symbolic", title_justify="left", show_edge=False)
    s.add_column("", style="bold")
    s.add_column("symbolic")
    for j, label in enumerate(labels[:MAX_TABLE_ENTRIES]):
        s.add_row(label, _symbolic_cell(symbolic, j))
    return Group(t, s)


MAX_SYMBOLIC = 300  # characters of a symbolic derivative shown in a table


def _symbolic_cell(symbolic, j: int) -> str:
    if symbolic is None:
        return "(not available)"
    text = symbolic[j]
    return text if len(text) <= MAX_SYMBOLIC else \
        text[:MAX_SYMBOLIC] + f"... ({len(text):,} characters: see --format json)"


_VERDICT_STYLE = {"ok": "green", "disagrees": "bold red", "not checkable": "yellow"}


def _check_table(out, points, title, caption, precision):
    """One row per number: autodx's value, its distances from the exact value and from a
    finite difference (± its bound), and the verdict; reasons as numbered notes."""
    from rich.table import Table
    from rich.text import Text

    symbolic = out.extra.get("symbolic", False)
    s = out.extra["check_summary"]
    t = Table(title=title, title_justify="left", show_edge=False, caption_justify="left")
    longest = max(len(label) for label, _ in entries(out, 0))
    t.add_column("", style="bold", min_width=min(longest, 24))
    t.add_column("autodx", justify="right", no_wrap=True, overflow="fold")
    if symbolic is not False:
        t.add_column("symbolic", min_width=8)
    t.add_column("error vs\nexact", justify="right", no_wrap=True)
    t.add_column("error vs\nfinite diff.", justify="right", no_wrap=True)
    t.add_column("verdict", min_width=6)
    notes: list[str] = []
    shown = 0
    for i, p in enumerate(points):
        if len(points) > 1:
            t.add_row(Text(f"at {point_text(p, precision)}", style="bold"),
                      end_section=False)
        for j, ((label, value), v) in enumerate(zip(entries(out, i), out.extra["check"][i])):
            if shown == MAX_TABLE_ENTRIES:
                caption = f"first {MAX_TABLE_ENTRIES} numbers; --format json has all"
                break
            shown += 1
            cells = [label, number(value, precision)]
            if symbolic is not False:
                cells.append(_symbolic_cell(symbolic, j) if i == 0 else "")
            cells += ["" if v.error is None else f"{v.error:.2g}",
                      "" if v.fd_error is None else f"{v.fd_error:.2g} ± {v.fd_bound:.0e}"]
            verdict = Text(v.verdict, style=_VERDICT_STYLE[v.verdict])
            if v.why:
                if v.why not in notes:
                    notes.append(v.why)
                verdict.append(f" [{notes.index(v.why) + 1}]")
            cells.append(verdict)
            t.add_row(*cells, end_section=j == len(out.extra["check"][i]) - 1)
    lines = ([caption] if caption else []) + [
        f"[{k}] {why}" for k, why in enumerate(notes, start=1)] + [
        f"tolerance: {s['relative_tolerance']:g} relative + {s['absolute_tolerance']:g}; "
        "exact: the symbolic derivative at 50 digits; finite diff.: central differences, "
        "Richardson-extrapolated, ± their error bound; --format json has the values"]
    t.caption = "\n".join(lines)
    return t


def _matrix(out, i: int, point: dict, precision: int):
    from rich.table import Table

    h = out.results["hessian"][i]
    title = f"Hessian of f = {out.expression}"
    caption = f"at {point_text(point, precision)}; f = " \
              f"{number(out.results['value'][i], precision)}"
    t = Table(title=title, title_justify="left", caption=caption, caption_justify="left",
              show_edge=False, min_width=min(max(len(title), len(caption)), 100))
    t.add_column("", style="bold")
    for c in out.coordinates:
        t.add_column(c, justify="right")
    for c, row in zip(out.coordinates, h):
        t.add_row(c, *(number(v, precision) for v in row))
    return t


def formula_table(out):
    """The symbolic derivatives alone (``--symbolic`` without a point)."""
    from rich.table import Table

    t = Table(title=f"f = {out.expression}", title_justify="left", show_edge=False)
    t.add_column("derivative", style="bold")
    t.add_column("symbolic")
    for key, text in zip(entry_keys(out), out.extra["symbolic"]):
        t.add_row(entry_label(out.coordinates, key), text)
    return t


def formula_lines(out) -> list[str]:
    """The symbolic derivatives for ``$(...)``: one a line, without f itself."""
    return list(out.extra["symbolic"][1:])


# ---------------------------------------------------------------- plain, CSV, JSON, arrays

def plain(out, precision: int = 64) -> list[str]:
    """Bare numbers for ``$(...)``: grad one order a line; hessian one matrix row a line;
    hvp, perex and jvp-partial one point a line."""
    lines: list[str] = []

    def line(values):
        lines.append(" ".join(number(x, precision) for x in np.ravel(values)))
    r = out.results
    for i in range(out.rows.count):
        if out.command == "grad":
            for d in r["derivatives"].values():
                line(d[i])
        elif out.command == "hessian":
            for row in (r["hessian"][i] if "hessian" in r else [r["hvp"][i]]):
                line(row)
        elif out.command == "jvp-partial":
            line(r["value"][i])
        else:
            line(r["grad"][i])
    return lines


def csv_rows(out) -> Iterator[list[str]]:
    """A header, then one row per point: the point's values (not for perex), then the
    results. A generator, so millions of rows are never held as text at once."""
    with_points = out.command != "perex" and out.rows.batched is not None
    first = out.rows.point(0)
    yield (_flat_names(first) if with_points else []) + [label for label, _ in entries(out, 0)]
    if out.command == "perex":  # the fast path for the one command made for big files
        for row in out.results["grad"]:
            yield [exact(v) for v in row]
        return
    keys = entry_keys(out)
    for i in range(out.rows.count):
        point = _flat_values(out.rows.point(i)) if with_points else []
        yield [exact(v) for v in point] + [exact(v) for _, v in entries(out, i, keys)]


def document(out) -> dict:
    """The JSON document of the contract; non-finite numbers become null plus a warning."""
    warnings: list[str] = []
    items = []
    for i in range(out.rows.count):
        where = f"point {i + 1}"
        item: dict[str, Any] = {"at": to_jsonable_tree(out.rows.point(i), warnings, where)}
        item.update(_json_results(out, i, warnings, where))
        items.append(item)
    doc: dict[str, Any] = {"command": out.command, "expression": out.expression,
                           "coordinates": out.coordinates}
    if out.command == "jvp-partial":
        doc["indices"] = list(out.extra["indices"])
    if "timing" in out.extra:
        doc["timing"] = out.extra["timing"]
    if "symbolic" in out.extra:
        from .trust import full_symbolic

        doc["symbolic"] = full_symbolic(out)
    if "check" in out.extra:
        doc["check"] = out.extra["check_summary"]
        for i, (item, row) in enumerate(zip(items, out.extra["check"])):
            item["check"] = [v.as_json(label) for (label, _), v in zip(entries(out, i), row)]
    warnings += noise_warnings(out) + out.extra.get("notes", [])
    doc.update(results=items, warnings=warnings)
    return doc


def to_jsonable_tree(point: dict, warnings, where) -> dict:
    return {k: to_jsonable(v, warnings, f"{where}: {k}") for k, v in point.items()}


def _json_results(out, i: int, warnings: list[str], where: str) -> dict:
    r = out.results

    def js(value, what):
        return to_jsonable(np.asarray(value), warnings, f"{where}: {what}")
    if out.command == "grad":
        return {"value": js(r["value"][i], "the value"),
                "derivatives": {str(k): js(d[i], f"derivative {k}")
                                for k, d in r["derivatives"].items()}}
    if out.command == "hessian":
        key = "hvp" if "hvp" in r else "hessian"
        return {key: js(r[key][i], key)}
    if out.command == "jvp-partial":
        return {"value": js(r["value"][i], "the partial")}
    grads, start = {}, 0
    for name in out.extra["names"]:
        size = out.extra["layout"][name]
        part = r["grad"][i][start:start + (size or 1)]
        grads[name] = js(part[0] if size is None else part, f"grad {name}")
        start += size or 1
    return {"grad": grads}


def arrays(out) -> dict[str, np.ndarray]:
    """Arrays for ``.npz`` (first axis = points); ``.npy`` takes the main one."""
    r = out.results
    if out.command == "grad":
        return {"value": r["value"], **{f"d{k}": d for k, d in r["derivatives"].items()}}
    if out.command == "hessian":
        key = "hvp" if "hvp" in r else "hessian"
        return {key: r[key], "value": r["value"]}
    if out.command == "jvp-partial":
        return {"value": r["value"], "f": r["f"]}
    return {"grad": r["grad"]}


def main_array(out) -> str:
    """The array a ``.npy`` file holds for this command."""
    if out.command == "grad":
        return f"d{out.extra['order']}"
    if out.command == "hessian":
        return "hvp" if "hvp" in out.results else "hessian"
    return "value" if out.command == "jvp-partial" else "grad"


def _flat_names(at: dict) -> list[str]:
    names = []
    for k, v in at.items():
        names += [f"{k}[{i}]" for i in range(len(v))] if isinstance(v, list) else [k]
    return names


def _flat_values(at: dict) -> list[float]:
    values: list[float] = []
    for v in at.values():
        values += v if isinstance(v, list) else [v]
    return values
