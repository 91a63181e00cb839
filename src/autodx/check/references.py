"""The references behind ``--check``, and the symbolic view of ``--symbolic``, answered
from a request of plain data in the symbolic worker (:mod:`autodx.check.worker`), which
runs them under a time and memory limit.

Two kinds of reference, in this order, so that sympy's time never costs the second:

1. the function's own values (:mod:`autodx.check.numeric`): f at 50 digits, whether
   the point is smooth, and per derivative a finite difference or a Cauchy integral;
   cheap, and given :data:`NUMERIC_SHARE` of the time limit before sympy starts;
2. sympy's symbolic derivatives (each built from the one of an order less), evaluated
   at 50 digits through closures built from the sympy tree
   (:mod:`autodx.check.closures`; no ``lambdify``, no ``eval``), then their text.

Each is written as a line as soon as it is known (:mod:`autodx.check.replies`), so
what was finished before the time limit survives it; what phase 1 left unfinished is
taken up again once sympy is done.
"""
from __future__ import annotations

import time
from typing import Iterator

import mpmath
import sympy as sp

from .. import parse as P
from ..errors import ExpressionError
from . import replies
from .closures import _MP, mp_function, real_value  # noqa: F401  (_MP: the registry's tests)
from .numeric import DIGITS, Checker, kink, kinks, within
from .sympy_view import Value, number, symbols, text, to_sympy

NUMERIC_SHARE = 0.5  # of the time limit, for phase 1 before sympy starts


def references(request: dict) -> dict:
    """Everything ``--symbolic`` and ``--check`` need, from a request of plain data: the
    lines of :func:`reference_lines`, without a time limit, merged into one reply.

    Request keys: ``text``, ``defs`` (helper texts), ``layout`` (variable -> vector
    length or None), ``coords`` (the differentiated labels), ``entries`` (one per
    result: a list of coordinate positions, ``[]`` for f itself; or ``{"hvp": i}``; for
    ``"command": "jacobian"``, ``{"f": i}`` or ``{"f": i, "d": j}``), ``hvp`` (the
    vector, or None), ``points`` (variable -> value, one per row to check), ``check``
    (bool), ``symbolic`` (bool, default true: the derivatives as text).

    Reply keys: ``symbolic`` (a string per entry) and, with ``check``, ``checks``: per
    point, per entry, ``{"exact", "fd", "fd_bound", "why"}`` (floats or None; ``why``
    says why a reference is missing; ``fd_kind`` is ``"cauchy"`` for a Cauchy integral).
    """
    points = len(request["points"]) if request.get("check") else 0
    reply = replies.merge(list(reference_lines(request)), request["entries"], points,
                          None, None)
    if "symbolic_error" in reply:
        raise NotImplementedError(reply["symbolic_error"])
    return reply


def reference_lines(request: dict, timeout: float | None = None) -> Iterator[dict]:
    """The lines of the reply (:mod:`autodx.check.replies`), each as soon as it is
    known; ``timeout`` (seconds) sets phase 1's share."""
    start = time.monotonic()
    problem = _Problem(request)
    work = _Numeric(problem, request["points"] if request.get("check") else [])
    deadline = None if timeout is None else start + NUMERIC_SHARE * timeout
    unfinished = []
    for i in range(len(work.points)):
        left = None if deadline is None else deadline - time.monotonic()
        if not within(left, work.fill, i):
            unfinished.append(i)
        if any(item is not None for item in work.items[i]):
            yield work.line(i)
    yield from _symbolic(problem, work, request.get("symbolic", True))
    for i in unfinished:
        work.fill(i)
        yield work.line(i)
    yield {"done": True}


def _symbolic(problem: "_Problem", work: "_Numeric", as_text: bool) -> Iterator[dict]:
    """Phase 2: sympy's derivatives, entry by entry, at every point; then as text."""
    exprs = []
    try:
        for n, (o, key) in enumerate(problem.entries):
            exprs.append(problem.derivatives[o].entry(key))
            if work.points:
                yield {"entry": n, "exact": work.exact(o, key, exprs[-1])}
        if as_text:  # sympy's printer can take as long as diff itself
            yield {"symbolic": [text(e) for e in exprs]}
    except (NotImplementedError, MemoryError, RecursionError) as e:
        yield {"symbolic_error": f"{type(e).__name__}: {e}"}


class _Problem:
    """The request read: its scalar outputs in sympy (one; a jacobian's several), and
    per entry (output, key): key ``()`` for the output itself, coordinate positions
    for a partial, ``{"hvp": i}`` for a row of H v."""

    def __init__(self, request: dict):
        env = symbols(request["layout"])
        if request.get("command") == "jacobian":
            from ..jacobians import items_of

            outputs: list = []
            for item, defs in items_of(request["text"], request["defs"]):
                tree, helpers, _ = P.parse_expression(item, defs)
                f = to_sympy(tree, helpers, env)
                outputs += f if isinstance(f, list) else [f]
            self.entries = [(e["f"], (e["d"],) if "d" in e else ())
                            for e in request["entries"]]
        else:
            tree, helpers, _ = P.parse_expression(request["text"], request["defs"])
            f = to_sympy(tree, helpers, env)
            if isinstance(f, list):
                raise ExpressionError("the expression is a vector; a scalar is needed")
            outputs = [f]
            self.entries = [(0, e if isinstance(e, dict) else tuple(e))
                            for e in request["entries"]]
        self.flat = _flat_symbols(env)
        self.order = list(self.flat.values())
        self.coords = [self.flat[label] for label in request["coords"]]
        self.hvp = [number(v) for v in request["hvp"]] \
            if request.get("hvp") is not None else None
        self.outputs = outputs
        self.derivatives = [_Derivatives(f, self.coords, self.hvp) for f in outputs]


class _Numeric:
    """Phase 1 at every point, and the exact values of phase 2 at the same points."""

    def __init__(self, problem: _Problem, points: list[dict]):
        self.problem = problem
        self.points = [[mpmath.mpf(v) for v in _flat_point(p, problem.flat)] for p in points]
        self.items: list[list] = [[None] * len(problem.entries) for _ in self.points]
        self.memo = [[{} for _ in problem.outputs] for _ in self.points]
        self.slots = [[n for n, (o, _) in enumerate(problem.entries) if o == out]
                      for out in range(len(problem.outputs))]
        self.checkers = [Checker(f, problem.order, problem.coords,
                                 [problem.entries[n][1] for n in slots], problem.hvp)
                         for f, slots in zip(problem.outputs, self.slots)] if points else []

    def fill(self, i: int) -> None:
        for checker, slots, memo in zip(self.checkers, self.slots, self.memo[i]):
            checker.fill(self.points[i], self.items[i], slots, memo)

    def line(self, i: int) -> dict:
        return {"point": i, "refs": [item or {} for item in self.items[i]]}

    def exact(self, o: int, key, expr: sp.Expr) -> list[dict]:
        """Per point, the exact value of ``expr``, output o's entry ``key``."""
        checker = self.checkers[o]
        try:
            fn = mp_function(expr, self.problem.order)
        except NotImplementedError as why:
            fn = str(why)
        more = kinks([expr], self.problem.order, {k[-1] for k in checker.kinks}) if key else []
        out = []
        for x, memo in zip(self.points, self.memo):
            value, blocked = checker.based(x, memo[o])
            if key == () or blocked:
                out.append(value if key == () else {"why": blocked})
                continue
            with mpmath.workdps(DIGITS):
                jump = kink(more, x)
                if jump:  # a non-smooth node only the derivative has: no reference
                    out.append({"why": jump, "fd": None, "fd_bound": None, "fd_why": None})
                elif isinstance(fn, str):
                    out.append({"why": fn})
                else:
                    exact, why = real_value(fn, x)
                    out.append({"exact": exact, "why": why})
        return out


def _flat_symbols(env: dict[str, Value]) -> dict[str, sp.Symbol]:
    out = {}
    for name in sorted(env):
        v = env[name]
        for s in (v if isinstance(v, list) else [v]):
            out[s.name] = s
    return out


def _flat_point(point: dict, flat: dict[str, sp.Symbol]) -> list:
    values = {}
    for name, v in point.items():
        if isinstance(v, list):
            values.update({f"{name}[{i}]": x for i, x in enumerate(v)})
        else:
            values[name] = v
    return [values[label] for label in flat]


class _Derivatives:
    """Symbolic derivatives of f, each built from the one of an order less (memoised),
    so orders 1..50 cost 50 differentiations, not 1,275."""

    def __init__(self, f: sp.Expr, coords: list, hvp):
        self.coords = coords
        self.hvp = hvp
        self.memo: dict[tuple, sp.Expr] = {(): f}
        self.directional = None

    def partial(self, key: tuple) -> sp.Expr:
        key = tuple(sorted(key))
        if key not in self.memo:
            self.memo[key] = sp.diff(self.partial(key[:-1]), self.coords[key[-1]])
        return self.memo[key]

    def entry(self, entry) -> sp.Expr:
        if isinstance(entry, dict):  # row i of H v: the gradient of grad(f) . v
            if self.directional is None:
                self.directional = sp.Add(*(vj * self.partial((j,))
                                            for j, vj in enumerate(self.hvp) if vj != 0))
            return sp.diff(self.directional, self.coords[entry["hvp"]])
        return self.partial(tuple(entry))
