"""The exact coefficients behind ``autodx series --symbolic``, computed by sympy in the
symbolic worker (:mod:`autodx.check.worker`), never in the command's own process.

Each coefficient is ``D^a f(x0) / a!``: sympy's derivative, memoised so that one of
order k is built from one of order k - 1, evaluated at the exact point. The point is
read from the ``--at`` text by autodx's own parser (``0.5`` is 1/2, ``pi/4`` is pi/4),
never sympified; a value that does not read as a constant, or whose value is not the
number the command used, falls back to the exact rational of that number.

The answer is a stream of small JSON-able dicts, so that what sympy finished before
the time limit still reaches the command: first ``{"point": {label: text}}``, then
``{"term": i, "symbolic": text}`` (or ``"why"``) for every term in order, then better
forms found by a moderate simplification (each under a share of the time left, so one
slow term cannot starve the rest), then ``{"done": True}``.
"""
from __future__ import annotations

import contextlib
import math
import signal
import time
from collections import Counter
from typing import Iterator

import sympy as sp

from .. import parse as P
from ..errors import ExpressionError
from .sympy_functions import stop_gradient
from .sympy_view import number, symbols, text, to_sympy

SHARE = 0.8  # of the time limit the worker plans to use: the rest is for the reply
SIMPLIFY_TERM = 0.2  # seconds of sympy's simplify for one coefficient, at most
SIMPLIFY_ALL = 2.0  # seconds for all of them: a moderate simplification, not a search


def series_lines(request: dict) -> Iterator[dict]:
    """The stream of answers to a series request.

    Request keys: ``text``, ``defs``, ``layout`` (variable -> vector length or None),
    ``coords`` (the differentiated labels), ``keys`` (per term, the coordinate positions
    of its partial, as grad's entry keys), ``point`` (variable -> the number used),
    ``point_text`` (variable -> the ``--at`` text of its value, a list for a vector),
    ``precision`` (64 or 32) and ``timeout`` (seconds).
    """
    deadline = time.monotonic() + SHARE * float(request["timeout"])
    tree, helpers, _ = P.parse_expression(request["text"], request["defs"])
    env = symbols(request["layout"])
    flat = _flat(env)
    point = _exact_point(request, flat)
    yield {"point": {label: text(v) for label, v in point.items()}}
    f = to_sympy(tree, helpers, env)
    if isinstance(f, list):
        raise ExpressionError("the expression is a vector; a scalar is needed")
    coords = [flat[label] for label in request["coords"]]
    fixed = {flat[k]: v for k, v in point.items() if flat[k] not in coords}
    derivatives = _Derivatives(f.subs(fixed) if fixed else f, coords)
    at = {flat[k]: v for k, v in point.items() if flat[k] in coords}
    found: dict[int, sp.Expr] = {}
    for i, key in enumerate(request["keys"]):
        item = _coefficient(derivatives, key, at)
        if isinstance(item, str):
            yield {"term": i, "why": item}
        else:
            found[i] = item
            yield {"term": i, "symbolic": text(item)}
    yield from _simplified(found, deadline)
    yield {"done": True}


def _flat(env: dict) -> dict[str, sp.Symbol]:
    out = {}
    for v in env.values():
        for s in (v if isinstance(v, list) else [v]):
            out[s.name] = s
    return out


def _exact_point(request: dict, flat: dict[str, sp.Symbol]) -> dict[str, sp.Expr]:
    """Label -> the exact value of its coordinate of the point."""
    tolerance = 2.0 ** (-20 if request.get("precision") == 32 else -50)
    out = {}
    for name, used in request["point"].items():
        texts = request["point_text"].get(name)
        if isinstance(used, list):
            texts = texts if isinstance(texts, list) and len(texts) == len(used) else \
                [None] * len(used)
            out.update({f"{name}[{i}]": _exact_value(t, u, tolerance)
                        for i, (t, u) in enumerate(zip(texts, used))})
        else:
            out[name] = _exact_value(texts if isinstance(texts, str) else None, used,
                                     tolerance)
    return {label: out[label] for label in flat}


def _exact_value(source: str | None, used: float, tolerance: float) -> sp.Expr:
    """The exact value of ``source`` (a constant in autodx's language), or the exact
    rational of ``used`` when the text is not that or does not name ``used``."""
    if not math.isfinite(used):
        raise ExpressionError(f"the point has the value {used}, which is not a number "
                              "sympy can expand around")
    if source is not None:
        try:
            tree, _, info = P.parse_expression(source)
            if not info.variables:
                value = to_sympy(tree, {}, {})
                close = abs(float(sp.N(value, 30)) - used) <= tolerance * max(abs(used),
                                                                             1e-300)
                if not isinstance(value, list) and value.is_real and close:
                    return value
        except (ExpressionError, TypeError, ValueError, ArithmeticError):
            pass
    return number(used)


class _Derivatives:
    """Partial derivatives by sorted coordinate positions, each from one of an order less,
    with products multiplied out: the derivatives of tan(x), left as sympy builds them,
    grow exponentially (order 14: seconds); multiplied out, they are polynomials in
    tan(x) (order 30: one second). Powers are not expanded: that makes rational functions
    explode instead."""

    def __init__(self, f: sp.Expr, coords: list[sp.Symbol]):
        self.coords = coords
        self.memo: dict[tuple, sp.Expr] = {(): f}

    def partial(self, key: tuple) -> sp.Expr:
        key = tuple(sorted(key))
        if key not in self.memo:
            self.memo[key] = sp.expand_mul(sp.diff(self.partial(key[:-1]),
                                                   self.coords[key[-1]]))
        return self.memo[key]


def _coefficient(derivatives: _Derivatives, key: list, at: dict) -> sp.Expr | str:
    """D^a f(x0) / a! exactly, or why there is none (a reason, as text)."""
    factorial = math.prod(math.factorial(k) for k in Counter(key).values())
    try:
        c = derivatives.partial(tuple(key)).subs(at) / factorial
    except (MemoryError, RecursionError):
        raise
    except Exception as e:  # noqa: BLE001  sympy's failures have no common class
        return f"sympy failed ({type(e).__name__})"
    return _checked(c)


def _checked(c: sp.Expr) -> sp.Expr | str:
    """The coefficient, if it is a finite real number; else why it is not one."""
    c = c.replace(lambda e: isinstance(e, stop_gradient), lambda e: e.args[0])
    if c.has(sp.zoo, sp.oo, sp.S.NegativeInfinity, sp.nan):
        return "the exact value is infinite or undefined here"
    if c.free_symbols:
        return "sympy left a variable in the value"
    value = c.evalf(15)
    if value.has(sp.I) or value.is_extended_real is False:
        return "the exact value is not real here (outside the domain)"
    if not value.is_Number:  # DiracDelta(0): the derivative of abs at its kink
        return "sympy cannot evaluate it here (a kink or a singularity)"
    if not value.is_finite:
        return "the exact value is infinite or undefined here"
    return c


def _simplified(found: dict[int, sp.Expr], deadline: float) -> Iterator[dict]:
    """Shorter forms, where sympy's simplify finds one within its share of the time."""
    deadline = min(deadline, time.monotonic() + SIMPLIFY_ALL)
    left = len(found)
    for i, c in found.items():
        budget = min(SIMPLIFY_TERM, (deadline - time.monotonic()) / left)
        left -= 1
        if budget < 0.005:
            return
        if c.is_Rational or c.is_Atom:
            continue
        try:
            with _alarm(budget):
                s = sp.simplify(c)
            shorter = _checked(s)
        except _OutOfTime:
            continue
        except (MemoryError, RecursionError):
            raise
        except Exception:  # noqa: BLE001  keep the unsimplified form
            continue
        if not isinstance(shorter, str) and len(text(shorter)) < len(text(c)):
            yield {"term": i, "symbolic": text(shorter)}


class _OutOfTime(BaseException):
    """Not an Exception: sympy's own ``except Exception`` must not swallow it."""


@contextlib.contextmanager
def _alarm(seconds: float):
    """Raise :class:`_OutOfTime` in the block after ``seconds`` (SIGALRM: the worker's
    main thread is the only one that runs sympy)."""
    def ring(*_):
        raise _OutOfTime()
    old = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
