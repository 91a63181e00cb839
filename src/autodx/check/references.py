"""The high-precision references behind ``--check``: the symbolic derivatives evaluated
in mpmath at 50 digits through closures built from the sympy tree (no ``lambdify``, no
``eval``), and a second, independent reference: nested central differences of the
function's own values with steps near 1e-12, in mpmath at enough digits that rounding
cannot matter, Richardson-extrapolated over three step sizes, with the last correction
as its error bound.

:func:`references` answers one request of plain data; the worker process
(:mod:`autodx.check.worker`) runs it under a time and memory limit.
"""
from __future__ import annotations

import itertools
import math
from typing import Any, Callable

import mpmath
import sympy as sp

from .. import parse as P
from ..errors import ExpressionError
from ..registry import resolve
from .sympy_functions import cbrt, ceiling, floor, round, stop_gradient
from .sympy_view import Value, number, symbols, sympy_classes, text, to_sympy

DIGITS = 50            # mpmath digits of the symbolic reference
STEP_BITS = 40         # finite-difference step: 2**-40 (about 1e-12) times the point's scale
KINK = 1e-9            # a non-smooth node this close to its kink makes a point uncheckable


# ---------------------------------------------------------------- sympy -> mpmath closures

def _mp_power(b, e):
    """b**e, except that a result with a decimal exponent beyond a million (far outside
    every float) is inf or 0 at once instead of being computed."""
    if isinstance(b, mpmath.mpf) and isinstance(e, mpmath.mpf) and b > 0 and \
            abs(e * mpmath.log(b)) > 1e6:
        return mpmath.inf if e * mpmath.log(b) > 0 else mpmath.mpf(0)
    return mpmath.power(b, e)


def _heaviside(x, h0=0.5):
    return mpmath.mpf(1) if x > 0 else (mpmath.mpf(0) if x < 0 else mpmath.mpf(h0))


def _dirac(x, *_):
    return mpmath.mpf(0) if x != 0 else mpmath.inf


def _derivative(e: sp.Derivative, build: Callable, position: dict) -> Callable:
    """A derivative sympy leaves unevaluated (zeta's in s): mpmath's numerical
    differentiation of the inner expression, at the working precision."""
    inner = build(e.expr)
    (var, n), = e.variable_count if len(e.variable_count) == 1 else [(None, 0)]
    if var not in position:
        raise NotImplementedError(f"no high-precision rule for {e}")
    i, n = position[var], int(n)

    def value(v):
        def along(t):
            w = list(v)
            w[i] = t
            return inner(w)
        return mpmath.diff(along, v[i], n)
    return value


# sympy class -> mpmath function: the registry's entries, and the functions that only
# sympy's differentiation brings in (the derivatives of abs, sign, min and max)
_MP: dict[type, Callable] = {
    **{cls: resolve(f.mpmath) for cls, f in sympy_classes().items()},
    sp.Heaviside: _heaviside, sp.DiracDelta: _dirac, sp.re: mpmath.re, sp.im: mpmath.im,
    sp.conjugate: mpmath.conj, sp.And: lambda *a: mpmath.mpf(all(a)),
    sp.Or: lambda *a: mpmath.mpf(any(a)), sp.Not: lambda a: mpmath.mpf(not a),
}


def mp_function(expr: sp.Expr, order: list[sp.Symbol]) -> Callable[[list], Any]:
    """``expr`` as a function of mpmath numbers for ``order``'s symbols, built as nested
    closures from the sympy tree. Runs at the caller's ``mpmath.mp.dps``."""
    position = {s: i for i, s in enumerate(order)}

    def build(e) -> Callable:
        if e in position:
            i = position[e]
            return lambda v: v[i]
        if e.is_Integer:
            k = int(e)
            return lambda v: mpmath.mpf(k)
        if e.is_Rational:
            p, q = int(e.p), int(e.q)
            return lambda v: mpmath.mpf(p) / q
        if e is sp.pi:
            return lambda v: +mpmath.pi
        if e is sp.E:
            return lambda v: +mpmath.e
        if e.is_Float:
            f = mpmath.mpf(e)
            return lambda v: f
        if e in (sp.zoo, sp.oo, sp.S.NegativeInfinity, sp.nan):
            value = {sp.oo: mpmath.inf, sp.S.NegativeInfinity: -mpmath.inf}.get(e, mpmath.nan)
            return lambda v: value
        if e is sp.S.ImaginaryUnit:
            return lambda v: mpmath.mpc(0, 1)
        if e is sp.true or e is sp.false:
            truth = mpmath.mpf(bool(e))
            return lambda v: truth
        if isinstance(e, sp.Piecewise):  # lazily: an untaken branch may not be defined
            pairs = [(build(p.expr), build(p.cond)) for p in e.args]
            return lambda v: next((ev(v) for ev, cv in pairs if cv(v)), mpmath.nan)
        if isinstance(e, sp.Derivative):
            return _derivative(e, build, position)
        parts = [build(a) for a in e.args]
        if e.is_Add:
            return lambda v: mpmath.fsum(p(v) for p in parts)
        if e.is_Mul:
            return lambda v: mpmath.fprod(p(v) for p in parts)
        if e.is_Pow:
            base, exponent = parts
            if e.exp.is_Integer:
                k = int(e.exp)
                return lambda v: base(v) ** k
            return lambda v: _mp_power(base(v), exponent(v))
        fn = _MP.get(type(e)) or _MP.get(e.func)
        if fn is None:
            raise NotImplementedError(f"no high-precision rule for {e.func}")
        return lambda v: fn(*(p(v) for p in parts))
    return build(expr if isinstance(expr, sp.Basic) else sp.Integer(expr))


# ---------------------------------------------------------------- the request and reply

def references(request: dict) -> dict:
    """Everything ``--symbolic`` and ``--check`` need, from a request of plain data.

    Request keys: ``text``, ``defs`` (helper texts), ``layout`` (variable -> vector
    length or None), ``coords`` (the differentiated labels), ``entries`` (one per
    result: a list of coordinate positions, ``[]`` for f itself; or ``{"hvp": i}``),
    ``hvp`` (the vector, or None), ``points`` (variable -> value, one per row to
    check), ``check`` (bool), ``symbolic`` (bool, default true: the derivatives as text).

    Reply keys: ``symbolic`` (a string per entry) and, with ``check``, ``checks``: per
    point, per entry, ``{"exact", "fd", "fd_bound", "why"}`` (floats or None; ``why``
    says why a reference is missing).
    """
    if request.get("command") == "jacobian":
        return _jacobian_references(request)
    tree, helpers, _ = P.parse_expression(request["text"], request["defs"])
    env = symbols(request["layout"])
    f = to_sympy(tree, helpers, env)
    if isinstance(f, list):
        raise ExpressionError("the expression is a vector; a scalar is needed")
    flat = _flat_symbols(env)
    coords = [flat[label] for label in request["coords"]]
    hvp = [number(v) for v in request["hvp"]] if request.get("hvp") is not None else None
    derivatives = _Derivatives(f, coords, hvp)
    exprs = [derivatives.entry(e) for e in request["entries"]]
    reply: dict[str, Any] = {}
    if request.get("symbolic", True):  # sympy's printer can take as long as diff itself
        reply["symbolic"] = [text(e) for e in exprs]
    if request.get("check"):
        checker = _Checker(f, exprs, list(flat.values()), coords, request["entries"], hvp)
        reply["checks"] = [checker.at(_flat_point(p, flat)) for p in request["points"]]
    return reply


def _jacobian_references(request: dict) -> dict:
    """The reply to a jacobian request: each output of the vector-valued expression (the
    list's items, a vector item's entries) is a scalar function with references of its
    own, as a gradient's; entries are ``{"f": i}`` and ``{"f": i, "d": j}``."""
    env = symbols(request["layout"])
    outputs: list = []
    from ..jacobians import items_of

    for item, defs in items_of(request["text"], request["defs"]):
        tree, helpers, _ = P.parse_expression(item, defs)
        f = to_sympy(tree, helpers, env)
        outputs += f if isinstance(f, list) else [f]
    flat = _flat_symbols(env)
    coords = [flat[label] for label in request["coords"]]
    derivatives = [_Derivatives(f, coords, None) for f in outputs]
    entries = request["entries"]
    keys = [[] if "d" not in e else [e["d"]] for e in entries]
    exprs = [derivatives[e["f"]].entry(k) for e, k in zip(entries, keys)]
    reply: dict[str, Any] = {}
    if request.get("symbolic", True):
        reply["symbolic"] = [text(e) for e in exprs]
    if request.get("check"):
        mine = [[n for n, e in enumerate(entries) if e["f"] == i] for i in range(len(outputs))]
        checkers = [_Checker(f, [exprs[n] for n in ns], list(flat.values()), coords,
                             [keys[n] for n in ns], None) for f, ns in zip(outputs, mine)]
        reply["checks"] = []
        for p in request["points"]:
            x = _flat_point(p, flat)
            row: list = [None] * len(entries)
            for checker, ns in zip(checkers, mine):
                for n, ref in zip(ns, checker.at(x)):
                    row[n] = ref
            reply["checks"].append(row)
    return reply


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


class _Checker:
    """High-precision references at points: the symbolic value and a finite difference."""

    def __init__(self, f, exprs, order, coords, entries, hvp):
        self.order = order
        self.coords = coords
        self.entries = entries
        self.hvp = hvp
        self.f = mp_function(f, order)
        self.exprs = []
        for e in exprs:
            try:
                self.exprs.append(mp_function(e, order))
            except NotImplementedError as why:
                self.exprs.append(str(why))
        self.kinks = _kinks([f, *exprs], order)
        self.stopped = bool(f.atoms(stop_gradient))

    def at(self, values: list[float]) -> list[dict]:
        x = [mpmath.mpf(v) for v in values]
        with mpmath.workdps(DIGITS):
            kink = self.kink(x)
        value = self.exact(self.f, x)
        if value["why"] is not None:  # derivatives of a function that is not real here
            kink = value["why"].replace("the exact value", "the function")
        out = []
        for entry, expr in zip(self.entries, self.exprs):
            item = {"exact": None, "fd": None, "fd_bound": None, "why": kink if entry else None}
            if not entry:  # f itself, evaluated above
                item.update(value)
            elif kink is None:
                item.update(self.exact(expr, x))
                item.update(self.finite_difference(entry, x))
            out.append(item)
        return out

    def kink(self, x) -> str | None:
        for what, arg_fns, test in self.kinks:
            try:
                args = [fn(x) for fn in arg_fns]
                if test(args):
                    return f"{what} is not smooth at this point"
            except (ArithmeticError, ValueError, TypeError):
                return f"{what} cannot be evaluated here"
        return None

    def exact(self, expr, x) -> dict:
        if isinstance(expr, str):
            return {"why": expr}
        with mpmath.workdps(DIGITS):
            value, why = _real(expr, x)
        return {"exact": value, "why": why}

    def finite_difference(self, entry, x) -> dict:
        """For a derivative (f itself has only the symbolic reference)."""
        if self.stopped:
            return {"fd_why": "stop_gradient hides derivatives from the function's values"}
        scale = max([1.0] + [abs(float(v)) for v in x])
        if isinstance(entry, dict):
            directions = [_unit(len(x), self.order.index(self.coords[entry["hvp"]])),
                          self._hvp_direction(len(x))]
        else:
            directions = [_unit(len(x), self.order.index(self.coords[i])) for i in entry]
        k = len(directions)
        digits = 30 + math.ceil(k * STEP_BITS * math.log10(2)) + 2 * k
        with mpmath.workdps(digits):
            h = mpmath.mpf(2) ** -STEP_BITS * mpmath.mpf(scale)
            try:
                levels = [_central(self.f, x, directions, h / 2 ** j) for j in range(3)]
            except (ArithmeticError, ValueError, TypeError):
                return {"fd_why": "the function cannot be evaluated near the point"}
            if any(not _is_real(d) for d, _ in levels):
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
        if not _is_real(value):
            return value, 0
        total += weight * value
        magnitude += abs(weight * value)
    k = len(directions)
    eps = mpmath.mpf(10) ** (-mpmath.mp.dps + 3)
    return total / h ** k, magnitude * eps / h ** k


def _is_real(v) -> bool:
    return isinstance(v, mpmath.mpf) and mpmath.isfinite(v)


def _real(fn, x) -> tuple[float | None, str | None]:
    try:
        value = fn(x)
    except (ArithmeticError, ValueError, TypeError):
        return None, "the exact value cannot be evaluated here (outside the domain)"
    if isinstance(value, mpmath.mpc):
        if abs(value.imag) > 0:
            return None, "the exact value is not real here (outside the domain)"
        value = value.real
    if not mpmath.isfinite(value):
        return None, "the exact value is infinite here (a singularity, or far beyond every float)"
    if abs(value) > mpmath.mpf(1.7976931348623157e308):
        return None, "the exact value is beyond the range of float64"
    return float(value), None


def _kinks(exprs, order):
    """(name, argument functions, test) for every non-smooth node of ``exprs``."""
    found = []
    seen = set()
    for e in exprs:
        for node in sp.preorder_traversal(e):
            kind = type(node)
            if node in seen or kind not in (sp.Abs, sp.sign, sp.Heaviside, sp.DiracDelta,
                                            floor, ceiling, round, sp.Min, sp.Max, cbrt):
                continue
            seen.add(node)
            args = [mp_function(a, order) for a in node.args[:1 if kind in (
                sp.Heaviside, sp.DiracDelta) else None]]
            name = {sp.Abs: "abs", sp.Heaviside: "a step of min/max/abs",
                    sp.DiracDelta: "a step of sign"}.get(kind, kind.__name__.lower())
            found.append((f"{name}({node.args[0]}{', ...' if len(node.args) > 1 else ''})",
                          args, _TESTS[kind]))
    return found


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
