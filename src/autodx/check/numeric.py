"""The references of ``--check`` that need no symbolic derivative, only the function's
own values in mpmath (cheap, whatever sympy's derivatives cost): f's value at 50
digits, whether the point is smooth, and for every derivative a finite difference or,
for a high order along one coordinate, a Cauchy integral (:mod:`autodx.check.cauchy`).

Finite differences: nested central differences with steps near 1e-12 times the point's
scale, at enough digits that rounding cannot matter (about 14 per order),
Richardson-extrapolated over three step sizes, the last correction plus a rounding
bound as their error bound. They cost (k + 1) x 3 values at 30 + 14 k digits for each
order k apart, so along one coordinate they serve the orders up to :data:`FD_UP_TO`,
the Cauchy integral (every order from one circle) those above, and a finite
difference again where no circle works, up to :data:`FD_MAX_ORDER`.
"""
from __future__ import annotations

import itertools
import math
import signal

import mpmath
import sympy as sp

from . import cauchy
from .closures import is_real, mp_function, real_value
from .sympy_functions import cbrt, ceiling, floor, round, stop_gradient

DIGITS = 50            # mpmath digits of the exact values
STEP_BITS = 40         # finite-difference step: 2**-40 (about 1e-12) times the point's scale
KINK = 1e-9            # a non-smooth node this close to its kink makes a point uncheckable
FD_UP_TO = 6           # along one coordinate: finite differences to here, then Cauchy
FD_MAX_ORDER = 40      # finite differences beyond: over 590 digits, too costly
USEFUL = 1e-10         # a Cauchy bound above this (relative) falls back to finite differences


class Checker:
    """The references of one scalar function ``f`` (sympy) over ``order``'s symbols
    for the entries ``keys``: ``()`` for f itself, a tuple of coordinate positions for
    a partial derivative, ``{"hvp": i}`` for row i of a Hessian-vector product."""

    def __init__(self, f, order: list, coords: list, keys: list, hvp):
        self.expr, self.order, self.coords, self.keys, self.hvp = f, order, coords, keys, hvp
        self.f = mp_function(f, order)
        self.kinks = kinks([f], order)
        self.stopped = bool(f.atoms(stop_gradient))

    def base(self, x: list) -> tuple[dict, str | None]:
        """f's exact value at x, and why its derivatives cannot be checked there (a
        kink, or f not real), or None."""
        with mpmath.workdps(DIGITS):
            blocked = kink(self.kinks, x)
            value, why = real_value(self.f, x)
        if why is not None:
            blocked = why.replace("the exact value", "the function")
        return {"exact": value, "why": why}, blocked

    def based(self, x: list, memo: dict) -> tuple[dict, str | None]:
        """:meth:`base`, once per point (``memo`` is the point's)."""
        if "base" not in memo:
            memo["base"] = self.base(x)
        return memo["base"]

    def fill(self, x: list, items: list, slots: list[int], memo: dict) -> None:
        """Put the reference of this function's m-th entry in ``items[slots[m]]`` where
        that is still None, one by one, so an interruption keeps those finished."""
        value, blocked = self.based(x, memo)
        for n, key in zip(slots, self.keys):
            if items[n] is None:
                items[n] = dict(value) if key == () else (
                    {"why": blocked} if blocked else self.numeric(key, x, memo))

    def numeric(self, key, x: list, memo: dict) -> dict:
        """The reference of one derivative from the function's values, or why none."""
        found = self._numeric(key, x, memo)
        if "fd" in found and not (math.isfinite(found["fd"]) and
                                  math.isfinite(found["fd_bound"])):
            return {"fd_why": "the function's values give a number beyond the range of "
                    "float64 here"}
        return found

    def _numeric(self, key, x: list, memo: dict) -> dict:
        if self.stopped:
            return {"fd_why": "stop_gradient hides derivatives from the function's values"}
        k = 2 if isinstance(key, dict) else len(key)
        fallback = None
        if k > FD_UP_TO and len(set(key)) == 1:
            found = self._cauchy(key[0], x, memo)
            if isinstance(found, list) and found[k] is not None:
                value, bound = found[k]
                fallback = {"fd": value, "fd_bound": bound, "fd_kind": "cauchy"}
                if bound <= USEFUL * max(1.0, abs(value)):
                    return fallback
        if k > FD_MAX_ORDER:
            return fallback or {"fd_why": f"no reference from the function's values at "
                                f"order {k}: it is not analytic on any circle around the "
                                f"point, and finite differences stop at order {FD_MAX_ORDER}"}
        return self.finite_difference(key, x)

    def _cauchy(self, i: int, x: list, memo: dict):
        """Orders 0..the highest asked along coordinate position i, from one set of
        circles (memoised per point); or why not."""
        if ("cauchy", i) not in memo:
            top = max(len(key) for key in self.keys
                      if not isinstance(key, dict) and key and set(key) == {i})
            position = self.order.index(self.coords[i])
            try:
                with mpmath.workdps(DIGITS):
                    fn = cauchy.local(self.expr, self.order, x)
                memo["cauchy", i] = cauchy.derivatives(fn, x, position, top)
            except Exception as why:  # noqa: BLE001  no branch to continue: no circle
                memo["cauchy", i] = str(why)
        return memo["cauchy", i]

    def finite_difference(self, key, x: list) -> dict:
        scale = max([1.0] + [abs(float(v)) for v in x])
        if isinstance(key, dict):
            directions = [_unit(len(x), self.order.index(self.coords[key["hvp"]])),
                          self._hvp_direction(len(x))]
        else:
            directions = [_unit(len(x), self.order.index(self.coords[i])) for i in key]
        k = len(directions)
        digits = 30 + math.ceil(k * STEP_BITS * math.log10(2)) + 2 * k
        with mpmath.workdps(digits):
            h = mpmath.mpf(2) ** -STEP_BITS * mpmath.mpf(scale)
            try:
                levels = [_central(self.f, x, directions, h / 2 ** j) for j in range(3)]
            except (ArithmeticError, ValueError, TypeError):
                return {"fd_why": "the function cannot be evaluated near the point"}
            if any(not is_real(d) for d, _ in levels):
                return {"fd_why": "the function is not real near the point"}
            (d0, _), (d1, _), (d2, rounding) = levels
            r01, r12 = (4 * d1 - d0) / 3, (4 * d2 - d1) / 3
            best = (16 * r12 - r01) / 15
            bound = abs(best - r12) + rounding
            return {"fd": float(best), "fd_bound": float(bound)}

    def _hvp_direction(self, n):
        d = [0] * n
        for c, vj in zip(self.coords, self.hvp):
            d[self.order.index(c)] = vj
        return d


def _unit(n: int, i: int) -> list:
    d = [0] * n
    d[i] = 1
    return d


def _central(f, x, directions, h):
    """Nested central differences of f at x along ``directions`` (step h each; a
    direction repeated a times takes the a-th difference, a + 1 values); returns the
    estimate and a bound on its rounding error."""
    groups: dict[tuple, int] = {}
    for d in directions:
        groups[tuple(d)] = groups.get(tuple(d), 0) + 1
    stencils = [[(mpmath.mpf(a) / 2 - j, (-1) ** j * math.comb(a, j)) for j in range(a + 1)]
                for a in groups.values()]
    total = mpmath.mpf(0)
    magnitude = mpmath.mpf(0)
    for choice in itertools.product(*stencils):
        point = list(x)
        weight = 1
        for (offset, w), d in zip(choice, groups):
            weight *= w
            for i, di in enumerate(d):
                if di:
                    point[i] += offset * h * di
        value = f(point)
        if not is_real(value):
            return value, 0
        total += weight * value
        magnitude += abs(weight * value)
    k = len(directions)
    eps = mpmath.mpf(10) ** (-mpmath.mp.dps + 3)
    return total / h ** k, magnitude * eps / h ** k


# ---------------------------------------------------------------- kinks

def kinks(exprs, order, skip=frozenset()) -> list:
    """(name, argument functions, test, node) for every non-smooth node of ``exprs``
    that is not in ``skip`` and depends on ``order``'s symbols (``floor(12)`` is a
    constant, not a jump)."""
    found = []
    seen = set(skip)
    variables = set(order)
    for e in exprs:
        for node in sp.preorder_traversal(e):
            kind = type(node)
            if node in seen or kind not in _TESTS or not node.free_symbols & variables:
                continue
            seen.add(node)
            args = [mp_function(a, order) for a in node.args[:1 if kind in (
                sp.Heaviside, sp.DiracDelta) else None]]
            name = {sp.Abs: "abs", sp.Heaviside: "a step of min/max/abs",
                    sp.DiracDelta: "a step of sign"}.get(kind, kind.__name__.lower())
            found.append((f"{name}({node.args[0]}{', ...' if len(node.args) > 1 else ''})",
                          args, _TESTS[kind], node))
    return found


def kink(found: list, x) -> str | None:
    """Why the point x is not smooth for a node of ``found`` (:func:`kinks`), or None."""
    for what, arg_fns, test, _ in found:
        try:
            args = [fn(x) for fn in arg_fns]
            if test(args):
                return f"{what} is not smooth at this point"
        except (ArithmeticError, ValueError, TypeError):
            return f"{what} cannot be evaluated here"
    return None


def _near(a, target) -> bool:
    return abs(a - target) <= KINK * max(1, abs(a))


_TESTS = {
    sp.Abs: lambda a: _near(a[0], 0), sp.sign: lambda a: _near(a[0], 0),
    sp.Heaviside: lambda a: _near(a[0], 0), sp.DiracDelta: lambda a: _near(a[0], 0),
    cbrt: lambda a: _near(a[0], 0),
    floor: lambda a: _near(a[0], mpmath.nint(a[0])),
    ceiling: lambda a: _near(a[0], mpmath.nint(a[0])),
    round: lambda a: _near(a[0] - mpmath.floor(a[0]), 0.5),
    sp.Min: lambda a: any(_near(p, q) for p, q in itertools.combinations(a, 2)),
    sp.Max: lambda a: any(_near(p, q) for p, q in itertools.combinations(a, 2)),
}


# ---------------------------------------------------------------- the worker's clock

class OutOfTime(BaseException):
    """Not an Exception: sympy's and mpmath's own ``except Exception`` must not swallow
    it."""


def within(seconds: float | None, work, *args) -> bool:
    """Run ``work(*args)``; past ``seconds`` (SIGALRM: the worker's main thread) stop it
    and return False. ``None``: no limit."""
    if seconds is None or not hasattr(signal, "setitimer"):  # no SIGALRM: no limit
        work(*args)
        return True
    if seconds <= 0:
        return False

    def ring(*_):
        raise OutOfTime()
    old = signal.signal(signal.SIGALRM, ring)
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, seconds)
            work(*args)
        finally:  # a ring in here is caught below; the timer is one-shot
            signal.setitimer(signal.ITIMER_REAL, 0)
        return True
    except OutOfTime:
        return False
    finally:
        signal.signal(signal.SIGALRM, old)

