"""``--symbolic`` and ``--check``: the worker process, and the verdict on every number.

The worker (``python -m autodx.symbolic``) starts with the command, so its import of
sympy overlaps JAX's work; it gets the request once the numbers are known and is
killed at the time limit, after which the numbers are still shown.

A number ``a`` agrees with a reference ``r`` when ``|a - r| <= rel * |r| + abs`` (plus
the finite difference's own error bound), with (rel, abs) from :data:`TOLERANCE`.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import render
from .render import entry_keys
from .errors import InputError
from .limits import TOLERANCE

MAX_CHECK_POINTS = 1000
DEFAULT_TIMEOUT = 10.0
FD_USEFUL = 1e-6  # a finite difference whose bound exceeds this (relative) cannot judge


class Worker:
    """The symbolic worker process; use as a context manager so it never outlives the
    command."""

    def __init__(self):
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        # -P: the current folder is not put on sys.path, so a sympy.py (or autodx/) in
        # the user's folder can never be imported in place of the real one
        self.proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "autodx.symbolic"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)

    def ask(self, request: dict, timeout: float) -> dict | None:
        """The reply, or None when the time limit ran out."""
        try:
            out, err = self.proc.communicate(json.dumps(request).encode(), timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            return None
        if self.proc.returncode != 0:
            last = err.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
            raise RuntimeError(f"the symbolic worker failed: {last[0]}")
        return json.loads(out)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        return False


def check_timeout(seconds: float) -> None:
    if not (seconds > 0 and math.isfinite(seconds)):
        raise InputError(f"--symbolic-timeout {seconds}: give a number of seconds above 0")


def _point(point: dict, precision: int) -> dict:
    """The point as the arithmetic saw it: rounded to float32 at --precision 32."""
    cast = (lambda v: float(np.float32(v))) if precision == 32 else float
    return {k: [cast(x) for x in v] if isinstance(v, list) else cast(v)
            for k, v in point.items()}


def request(out, expr, check: bool, precision: int, symbolic: bool = True) -> dict:
    """The worker's request for an Output of grad, hessian or jvp-partial."""
    if check and out.rows.count > MAX_CHECK_POINTS:
        raise InputError(f"--check evaluates every number in high precision, for at most "
                         f"{MAX_CHECK_POINTS:,} points; there are {out.rows.count:,}: check "
                         "a sample of the rows (e.g. head -n 1001 FILE)")
    # every row only when checking: --symbolic alone over a data file needs one
    points = [_point(out.rows.point(i), precision)
              for i in range(out.rows.count if check else 1)]
    hvp = out.extra.get("hvp")
    return {
        "text": expr.text,
        "defs": [h.text for h in expr.helpers.values()],
        "layout": {k: len(v) if isinstance(v, list) else None for k, v in points[0].items()},
        "coords": out.coordinates,
        "entries": entry_keys(out),
        "hvp": None if hvp is None else [float(np.float32(v)) if precision == 32 else float(v)
                                         for v in hvp],
        "points": points if check else [],
        "check": check,
        "symbolic": symbolic,
    }


@dataclass
class Verdict:
    value: float
    exact: float | None
    error: float | None
    fd: float | None
    fd_bound: float | None
    fd_error: float | None
    verdict: str  # ok | disagrees | not checkable
    why: str | None

    def as_json(self, label: str) -> dict:
        return {"entry": label, **{k: _json_float(v) if isinstance(v, float) else v
                                   for k, v in self.__dict__.items()}}


def _json_float(v: float):
    return v if math.isfinite(v) else None


def judge(value: float, ref: dict, precision: int) -> Verdict:
    """The verdict on one number against the worker's references for it."""
    rel, tol_abs = TOLERANCE[precision]
    value = float(value)
    exact, fd, bound = ref.get("exact"), ref.get("fd"), ref.get("fd_bound")
    agree, disagree, notes = [], [], []
    error = fd_error = None
    if exact is not None:
        error = abs(value - exact) if math.isfinite(value) else math.inf
        (agree if error <= rel * abs(exact) + tol_abs else disagree).append("symbolic")
    elif ref.get("why"):
        notes.append(ref["why"])
    if fd is not None and bound is not None:
        if bound > FD_USEFUL * max(1.0, abs(fd)):
            notes.append("the finite difference is not accurate enough here")
        else:
            fd_error = abs(value - fd) if math.isfinite(value) else math.inf
            (agree if fd_error <= rel * abs(fd) + tol_abs + bound else disagree).append(
                "finite difference")
    elif ref.get("fd_why"):
        notes.append(ref["fd_why"])
    if disagree:
        ref = exact if exact is not None else fd
        off = f"off by {abs(value - ref) / abs(ref):.1e} relative" if ref and \
            math.isfinite(value) else f"{value} where the reference is {ref}"
        verdict, why = "disagrees", f"{off}, beyond the tolerance, from the " + \
            " and the ".join(disagree)
    elif agree:
        verdict, why = "ok", (f"checked against the {agree[0]} only: {notes[0]}"
                              if notes and len(agree) == 1 else None)
    else:
        verdict, why = "not checkable", notes[0] if notes else "no reference"
    return Verdict(value, exact, error, fd, bound, fd_error, verdict, why)


def attach(out, reply: dict | None, check: bool, symbolic: bool, timeout: float,
           precision: int) -> list[str]:
    """Put the worker's reply into ``out.extra`` (``symbolic``, ``check``, ``check_summary``)
    and return the warning lines to show."""
    warnings = []
    if reply is None:
        warnings.append(f"sympy did not finish within {timeout:g} s (--symbolic-timeout): "
                        "showing the numbers without the "
                        + ("symbolic view" if not check else "check"))
    elif "error" in reply:
        warnings.append(f"no symbolic derivative: {reply['error']}")
    if symbolic:
        out.extra["symbolic"] = reply.get("symbolic") if reply and "error" not in reply \
            else None
    if not check:
        return warnings
    why = "sympy ran out of time" if reply is None else \
        ("no symbolic derivative" if "error" in reply else None)
    verdicts = []
    keys = entry_keys(out)
    for i in range(out.rows.count):
        values = [v for _, v in render.entries(out, i, keys)]
        refs = reply["checks"][i] if why is None else [{"why": why}] * len(values)
        verdicts.append([judge(v, r, precision) for v, r in zip(values, refs)])
    counts = {k: sum(v.verdict == k for row in verdicts for v in row)
              for k in ("ok", "disagrees", "not checkable")}
    rel, tol_abs = TOLERANCE[precision]
    out.extra["check"] = verdicts
    out.extra["check_summary"] = {"relative_tolerance": rel, "absolute_tolerance": tol_abs,
                                  **{k.replace(" ", "_"): n for k, n in counts.items()}}
    return warnings


def summary_line(out) -> str:
    s = out.extra["check_summary"]
    total = s["ok"] + s["disagrees"] + s["not_checkable"]
    parts = [f"{s['ok']} of {total} number{'s' if total != 1 else ''} ok"]
    if s["disagrees"]:
        parts.append(f"{s['disagrees']} DISAGREE")
    if s["not_checkable"]:
        parts.append(f"{s['not_checkable']} not checkable")
    return (f"check: {', '.join(parts)} (against the symbolic derivative at 50 digits and "
            f"a Richardson finite difference; tolerance {s['relative_tolerance']:g} relative "
            f"+ {s['absolute_tolerance']:g})")


def full_symbolic(out) -> Any:
    """The symbolic strings in the shape of the JSON results (tensors as nested lists)."""
    strings = out.extra.get("symbolic")
    if strings is None:
        return None
    keys = entry_keys(out)
    by_key = {json.dumps(k): s for k, s in zip(keys, strings)}
    n = len(out.coordinates)
    if out.command == "grad":
        derivs = {}
        for k in out.results["derivatives"]:
            if out.extra["scalar"]:
                derivs[str(k)] = by_key[json.dumps([0] * k)]
            else:
                derivs[str(k)] = _tensor(by_key, n, k)
        return {"value": strings[0], "derivatives": derivs}
    if out.command == "hessian":
        if "hvp" in out.results:
            return {"value": strings[0], "hvp": strings[1:]}
        return {"value": strings[0], "hessian": _tensor(by_key, n, 2)}
    return {"f": strings[0], "value": strings[1]}


def _tensor(by_key: dict, n: int, k: int):
    def build(prefix):
        if len(prefix) == k:
            return by_key[json.dumps(sorted(prefix))]
        return [build(prefix + [i]) for i in range(n)]
    return build([])


# ---------------------------------------------------------------- --symbolic without a point

@dataclass
class _NoRows:
    count: int = 0


@dataclass
class Formulas:
    """What ``--symbolic`` gives without a point: the derivatives as text, no numbers.
    Shaped like :class:`autodx.api.Output` for :func:`entry_keys` and the renderers."""

    command: str
    expression: str
    coordinates: list[str]
    results: dict
    extra: dict
    rows: _NoRows = field(default_factory=_NoRows)


def formulas(command: str, text: str, defs=(), wrt=None, order: int = 1, indices=None,
             hvp=None) -> tuple[Formulas, dict]:
    """The Formulas and the worker's request for a command without --at or --data.
    Parses and checks like the commands do, without importing JAX."""
    from . import limits, parse as P

    _, helpers, info = P.parse_expression(text, defs)
    if info.vectors:
        name = sorted(info.vectors)[0]
        raise InputError(f"--symbolic without a point: {name} is a vector "
                         f"({info.vectors[name]}) whose length comes from its value: add "
                         f"--at, as in --at \"{name}=[1,2,3]\"")
    names = limits.check_wrt(sorted(info.variables), wrt)
    results: dict = {}
    extra: dict = {}
    if command == "grad":
        limits.check_order(order, 64)
        results["derivatives"] = dict.fromkeys(range(1, order + 1))
        extra.update(scalar=len(names) == 1, order=order)
    elif command == "hessian":
        results["hessian" if hvp is None else "hvp"] = None
        if hvp is not None:
            hvp = [float(v) for v in np.ravel(hvp)]
            if len(hvp) != len(names):
                raise InputError(f"--hvp: the vector has length {len(hvp)}, but there are "
                                 f"{len(names)} coordinates ({', '.join(names)})")
            extra["hvp"] = hvp
    else:
        extra["indices"] = limits.resolve_indices(indices, names)
    out = Formulas(command, text, names, results, extra)
    request = {"text": text, "defs": [h.text for h in helpers.values()],
               "layout": dict.fromkeys(info.variables), "coords": names,
               "entries": entry_keys(out), "hvp": extra.get("hvp"), "points": [],
               "check": False}
    return out, request
