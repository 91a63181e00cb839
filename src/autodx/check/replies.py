"""The symbolic worker's answer to a request of grad, hessian, jvp-partial or jacobian,
as the stream of lines it writes (:func:`autodx.check.references.reference_lines`), and
their merge into one reply. Plain data only: the command's process reads it without
sympy or mpmath.

The lines, in the order they are written:

- ``{"point": i, "refs": [...]}``: per entry, what the function's own values give at
  point i: f's exact value, or why the point cannot be checked (a kink, outside the
  domain), or a finite difference / Cauchy integral (``fd``, ``fd_bound``, ``fd_kind``)
  or why not (``fd_why``); ``{}`` for an entry not reached in the worker's share of
  the time (the point is written again when it is finished);
- ``{"entry": n, "exact": [...]}``: per point, entry n's symbolic derivative at 50
  digits (``exact``, or ``why`` not);
- ``{"symbolic": [...]}``: the derivatives as text, once all are known;
- ``{"symbolic_error": text}``: sympy failed (the numeric references still come);
- ``{"done": true}``.

What the time limit cut off is missing; :func:`merge` says why in each entry.
"""
from __future__ import annotations


def is_value(entry) -> bool:
    """The entry is f itself (grad's ``[]``, jacobian's ``{"f": i}``), not a derivative."""
    return entry == [] or (isinstance(entry, dict) and "f" in entry and "d" not in entry)


def merge(lines: list[dict], entries: list, points: int, why_exact: str | None,
          why_numeric: str | None) -> dict:
    """One reply ``{"symbolic", "checks", "symbolic_error"}`` (each where known) from the
    lines; an entry without its exact value gets ``why_exact`` as its ``why``, a
    derivative without a numeric reference ``why_numeric`` as its ``fd_why``, and
    ``"missing"`` counts them (``{"exact": n, "numeric": m, "both": b}``, where any is)."""
    reply: dict = {}
    refs: dict[int, list] = {}
    exact: dict[int, list] = {}
    for line in lines:
        if "point" in line:
            refs[line["point"]] = line["refs"]
        elif "entry" in line:
            exact[line["entry"]] = line["exact"]
        elif "symbolic" in line:
            reply["symbolic"] = line["symbolic"]
        elif "symbolic_error" in line:
            reply["symbolic_error"] = line["symbolic_error"]
    checks = []
    missing = {"exact": 0, "numeric": 0, "both": 0}
    for i in range(points):
        row = []
        for n, entry in enumerate(entries):
            first = refs[i][n] if i in refs else {}
            item = {"exact": None, "fd": None, "fd_bound": None, "why": None, **first,
                    **(exact[n][i] if n in exact else {})}
            if item.get("exact") is None and not item.get("why") and why_exact:
                item["why"] = why_exact
                missing["exact"] += 1
            if not (is_value(entry) or "fd" in first or "fd_why" in first or "why" in first) \
                    and why_numeric:
                item["fd_why"] = why_numeric
                missing["numeric"] += 1
                missing["both"] += item["exact"] is None
            row.append(item)
        checks.append(row)
    if points:
        reply["checks"] = checks
    if any(missing.values()):
        reply["missing"] = missing
    return reply
