"""sympy expressions as functions of mpmath numbers, built as nested closures from the
sympy tree (no ``lambdify``, no ``eval``): the symbolic derivatives at 50 digits, and the
function's own values for the finite differences and Cauchy integrals
(:mod:`autodx.check.numeric`). Shared by :mod:`autodx.check.references` and the modules
it uses, so none of them imports another back.
"""
from __future__ import annotations

from typing import Any, Callable

import mpmath
import sympy as sp

from ..registry import resolve
from .sympy_view import sympy_classes

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


def mp_function(expr: sp.Expr, order: list[sp.Symbol],
                special: Callable | None = None) -> Callable[[list], Any]:
    """``expr`` as a function of mpmath numbers for ``order``'s symbols, built as nested
    closures from the sympy tree. Runs at the caller's ``mpmath.mp.dps``.

    ``special(e, build)``, when given, is asked first about every node that is not a
    symbol or a number: a closure for it, or None for the ordinary one
    (:func:`autodx.check.cauchy.local` freezes the branches of non-smooth nodes so).
    """
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
        if e in (sp.EulerGamma, sp.Catalan, sp.GoldenRatio):
            value = {sp.EulerGamma: mpmath.euler, sp.Catalan: mpmath.catalan,
                     sp.GoldenRatio: mpmath.phi}[e]
            return lambda v: +value
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
        if special is not None and (made := special(e, build)) is not None:
            return made
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


def is_real(v) -> bool:
    return isinstance(v, mpmath.mpf) and mpmath.isfinite(v)


def real_value(fn, x) -> tuple[float | None, str | None]:
    """fn(x) as a float, or None and why not (not real, not finite, beyond float64)."""
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

