"""Requests for the symbolic worker, and the verdict of ``--check`` on every number.

Runs in the command's own process, without sympy, mpmath or JAX: the work itself is done
by the worker (:mod:`autodx.check.worker`). A number ``a`` agrees with a reference ``r``
when ``|a - r| <= rel * |r| + abs`` (plus the finite difference's own error bound), with
(rel, abs) from :data:`autodx.limits.TOLERANCE`.
"""
from __future__ import annotations

import math

import numpy as np

from .. import limits
from ..errors import InputError
from ..data import Rows
from ..result import Command, Result, Verdict, layout_of

MAX_CHECK_POINTS = 1000
FD_USEFUL = 1e-6  # a finite difference whose bound exceeds this (relative) cannot judge
# How many times grad's estimate of a derivative's rounding noise it may be off by and
# still be as right as the computation can make it: the estimate (second differences at
# points a few thousand ulps away) was within 0.3x to 11x of the true error in 90% of
# cases against closed forms (docs/checking.md)
NOISE_MARGIN = 30.0
WITHIN_NOISE = "within the rounding noise of the computation"


MAX_TIMEOUT = 1e6  # seconds (11 days): past this, the operating system's timers overflow


def check_timeout(seconds: float) -> None:
    if not 0 < seconds <= MAX_TIMEOUT:
        raise InputError(f"--symbolic-timeout {seconds:g}: give a number of seconds above 0 "
                         f"and at most {MAX_TIMEOUT:g}")


def _as_used(value, precision: int):
    """A number as the arithmetic saw it: rounded to float32 at --precision 32."""
    return float(np.float32(value)) if precision == 32 else float(value)


def _point(point: dict, precision: int) -> dict:
    return {k: [_as_used(x, precision) for x in v] if isinstance(v, list) else
            _as_used(v, precision) for k, v in point.items()}


def request(result: Result, text: str, defs: list[str], check: bool,
            symbolic: bool = True) -> dict:
    """The worker's request for a result of grad, hessian or jvp-partial (with rows, or
    without: formulas alone)."""
    if check and result.rows.count > MAX_CHECK_POINTS:
        raise InputError(f"--check evaluates every number in high precision, for at most "
                         f"{MAX_CHECK_POINTS:,} points; there are {result.rows.count:,}: "
                         "check a sample of the rows (e.g. head -n 1001 FILE)")
    # every row only when checking: --symbolic alone over a data file needs one
    points = [_point(result.rows.point(i), result.precision)
              for i in range(min(result.rows.count, result.rows.count if check else 1))]
    return {
        "command": result.command.value,
        "text": text,
        "defs": list(defs),
        "layout": layout_of(points[0]) if points else result.params,
        "coords": result.coordinates,
        "entries": result.keys(),
        "hvp": None if result.hvp is None else
        [_as_used(v, result.precision) for v in result.hvp],
        "points": points if check else [],
        "check": check,
        "symbolic": symbolic,
    }


def formulas(command: Command, text: str, defs=(), wrt=None, order: int = 1,
             indices=None, hvp=None) -> tuple[Result, dict]:
    """A result without rows (``--symbolic`` without a point) and the worker's request
    for it. Parses and checks like the commands do, without importing JAX."""
    from .. import parse as P
    from ..jacobians import items_of

    items = items_of(text, defs) if command == Command.jacobian else [(text, defs)]
    variables: dict[str, int] = {}
    vectors: dict[str, str] = {}
    for item, item_defs in items:
        _, _, info = P.parse_expression(item, item_defs)
        variables.update(info.variables)
        vectors.update(info.vectors)
    if vectors:
        name = sorted(vectors)[0]
        raise InputError(f"--symbolic without a point: {name} is a vector "
                         f"({vectors[name]}) whose length comes from its value: add "
                         f"--at, as in --at \"{name}=[1,2,3]\"")
    names = limits.check_wrt(sorted(variables), wrt)
    if any("[" in n for n in names):
        raise InputError(f"--symbolic without a point: {names[0]} is an entry of a vector "
                         "whose length comes from its value: add --at")
    result = Result(Command(command), text, names, Rows(0),
                    params=dict.fromkeys(sorted(variables)))
    if result.command is Command.grad:
        limits.check_order(order, 64)
        result.order, result.scalar = order, len(names) == 1
    elif result.command is Command.hessian and hvp is not None:
        result.hvp = limits.check_hvp(hvp, names).tolist()
    elif result.command is Command.jvp_partial:
        result.indices = limits.resolve_indices(indices, names)
    elif result.command is Command.jacobian:
        from ..jacobians import labels

        result.outputs = labels([item for item, _ in items])
    return result, request(result, text, list(defs), False)


def judge(value: float, ref: dict, precision: int, scale: float = 0.0,
          noise: float = 0.0) -> Verdict:
    """The verdict on one number against the worker's references for it; ``scale`` is
    the size of the numbers it was computed from (:func:`autodx.limits.local_scale`),
    when that is larger than the number itself; ``noise``, the rounding noise of the
    computation that gave it, as grad measured it (:mod:`autodx.noise`): a number that
    far from the exact value is as right as float64 can make it (with a warning)."""
    rel, tol_abs = limits.TOLERANCE[precision]
    slack = NOISE_MARGIN * noise if math.isfinite(noise) else 0.0
    tol_abs = tol_abs + slack
    value = float(value)
    exact, fd, bound = ref.get("exact"), ref.get("fd"), ref.get("fd_bound")
    agree, disagree, notes = [], [], []
    error = fd_error = None
    if exact is not None:
        error = abs(value - exact) if math.isfinite(value) else math.inf
        (agree if error <= rel * max(abs(exact), scale) + tol_abs else disagree).append(
            "symbolic")
    elif ref.get("why"):
        notes.append(ref["why"])
    name = "Cauchy integral" if ref.get("fd_kind") == "cauchy" else "finite difference"
    if fd is not None and bound is not None:
        if bound > FD_USEFUL * max(1.0, abs(fd)):
            notes.append(f"the {name} is not accurate enough here")
        else:
            fd_error = abs(value - fd) if math.isfinite(value) else math.inf
            (agree if fd_error <= rel * max(abs(fd), scale) + tol_abs + bound
             else disagree).append(name)
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
        if slack and not _within(value, exact, fd, bound, rel, tol_abs - slack, scale):
            why = f"{WITHIN_NOISE}, as grad measured it at nearby points"
    else:
        verdict, why = "not checkable", notes[0] if notes else "no reference"
    return Verdict(value, exact, error, fd, bound, fd_error, verdict, why)


def _within(value: float, exact, fd, bound, rel: float, tol_abs: float,
            scale: float) -> bool:
    """Whether ``value`` agrees with a reference without the rounding-noise allowance."""
    if exact is not None:
        return abs(value - exact) <= rel * max(abs(exact), scale) + tol_abs
    return fd is not None and bound is not None and \
        abs(value - fd) <= rel * max(abs(fd), scale) + tol_abs + bound


def _noise(result: Result, i: int, count: int) -> list[float]:
    """The rounding noise grad measured for each number of row ``i`` (0 for the value,
    and where it measured none)."""
    noise = result.values.get("noise_abs")
    if noise is None:
        return [0.0] * count
    row = [float(v) for v in np.asarray(noise, dtype=float).reshape(result.rows.count, -1)[i]]
    return ([0.0] + row + [0.0] * count)[:count]


def attach(result: Result, reply: dict | None, check: bool, symbolic: bool,
           timeout: float) -> None:
    """Put the worker's reply into ``result`` (symbolic texts, verdicts, summary) and the
    warnings it calls for into ``result.notes``."""
    if reply is None:
        result.notes.append(f"sympy did not finish within {timeout:g} s "
                            "(--symbolic-timeout): showing the numbers without the "
                            + ("symbolic view" if not check else "check"))
    elif "error" in reply:
        result.notes.append(f"no symbolic derivative: {reply['error']}")
    elif "stopped" in reply:
        result.notes.append(_stopped(reply, timeout, symbolic))
    failed = reply is None or "error" in reply
    result.show_symbolic = symbolic
    if symbolic and not failed:
        result.symbolic = reply.get("symbolic")
    if not check:
        return
    why = "sympy ran out of time" if reply is None else \
        ("no symbolic derivative" if "error" in reply else None)
    keys = result.keys()
    verdicts = []
    for i in range(result.rows.count):
        values = [v for _, v in result.entries(i, keys)]
        refs = reply["checks"][i] if why is None else [{"why": why}] * len(values)
        scales = _scales(result, values, refs)
        noise = _noise(result, i, len(values))
        verdicts.append([judge(v, r, result.precision, s, z)
                         for v, r, s, z in zip(values, refs, scales, noise)])
    counts = {k: sum(v.verdict == k for row in verdicts for v in row)
              for k in ("ok", "disagrees", "not checkable")}
    rel, tol_abs = limits.TOLERANCE[result.precision]
    result.checks = verdicts
    noisy = sum(v.verdict == "ok" and (v.why or "").startswith(WITHIN_NOISE)
                for row in verdicts for v in row)
    result.check_summary = {"relative_tolerance": rel, "absolute_tolerance": tol_abs,
                            **{k.replace(" ", "_"): n for k, n in counts.items()},
                            "within_noise": noisy}


def _stopped(reply: dict, timeout: float, symbolic: bool) -> str:
    """The warning for a reply the time limit (or sympy's failure) cut short, after
    the references from the function's own values were known."""
    missing = reply.get("missing", {})
    view = "; showing the numbers without the symbolic view" if symbolic and \
        reply.get("symbolic") is None else ""
    if not reply["stopped"].startswith("sympy did not finish"):
        return reply["stopped"] + view
    if missing.get("exact"):
        neither = f"; {missing['both']:,} not even that: raise the limit to check them" \
            if missing.get("both") else ""
        return (f"sympy did not finish within {timeout:g} s (--symbolic-timeout): "
                f"{_numbers(missing['exact'])} without its derivative, checked against the "
                f"function's values alone{neither}{view}")
    if missing.get("numeric"):
        return (f"the check did not finish within {timeout:g} s (--symbolic-timeout): "
                f"{_numbers(missing['numeric'])} checked against the symbolic derivative "
                f"alone{view}")
    return f"sympy did not finish within {timeout:g} s (--symbolic-timeout)" + \
        view.replace(";", ":", 1)


def _numbers(n: int) -> str:
    return f"{n:,} number{'s' if n != 1 else ''}"


def _scales(result: Result, values: list, refs: list[dict]) -> list[float]:
    """The scale each number is computed at (from the exact values where the worker has
    them): along one variable, each order's (:func:`autodx.limits.local_scale`); over
    several coordinates, each derivative tensor's largest entry, since the entries of a
    tensor come from the same computation (nested jacfwd, or one interpolation from the
    same directions' coefficients): a partial that is exactly 0 came out as 3.6e-12
    beside entries of 464 in grad "sin(x*y*z[0])" --order 7, 8e-15 of them, and --check
    called it wrong. Elsewhere each number is its own scale."""
    known = [r.get("exact") if r.get("exact") is not None else float(v)
             for v, r in zip(values, refs)]
    if result.scalar:
        return [float(s) for s in limits.local_scale(known)]
    if result.command is not Command.grad:
        return [0.0] * len(values)
    orders = [len(k) for k in result.keys()]
    largest: dict[int, float] = {}
    for p, x in zip(orders, known):
        if p and math.isfinite(x):
            largest[p] = max(largest.get(p, 0.0), abs(x))
    return [largest.get(p, 0.0) if p else 0.0 for p in orders]


def summary_line(result: Result) -> str:
    s = result.check_summary
    total = s["ok"] + s["disagrees"] + s["not_checkable"]
    parts = [f"{s['ok']} of {total} number{'s' if total != 1 else ''} ok"
             + (f" ({s['within_noise']} of them {WITHIN_NOISE})" if s.get("within_noise")
                else "")]
    if s["disagrees"]:
        parts.append(f"{s['disagrees']} DISAGREE")
    if s["not_checkable"]:
        parts.append(f"{s['not_checkable']} not checkable")
    return (f"check: {', '.join(parts)} (against the symbolic derivative at 50 digits and "
            f"a Richardson finite difference; tolerance {s['relative_tolerance']:g} relative "
            f"+ {s['absolute_tolerance']:g})")
