"""High derivatives along one variable from the function's own values: Cauchy's
integral formula, by the trapezoid rule on circles around the point, in mpmath.

    f^(k)(x0) / k! = 1/(2 pi i) ∮ f(z) / (z - x0)^(k+1) dz
                   ~ (1/N) sum_j f(x0 + r w^j) w^(-jk) / r^k,    w = exp(2 pi i / N)

One circle of N points gives every order below N at once, with an error that shrinks
geometrically, (r/R)^N, where R is the distance to the nearest singularity; finite
differences need (k + 1) values at k x 14 digits for each order apart. The formula
needs f analytic on the disc, so the sympy expression is evaluated at complex points
through :func:`local`: its branch at the point, with every non-smooth node (``abs``,
``floor``, ``max``, a ``Piecewise``, ...) frozen to the piece that holds there.

Which radius: trial radii 1, 1/4, 1/16, ... are sampled in turn. A radius whose disc
holds a pole or a branch cut is rejected because the mean of f over its circle (the
order-0 coefficient) is not f(x0); two consecutive accepted radii give the estimate
(the smaller's) and its error bound (their difference, plus a rounding bound).
"""
from __future__ import annotations

import itertools
import math
from typing import Callable

import mpmath
import sympy as sp

from .closures import _MP, mp_function
from .sympy_functions import Mod, cbrt, ceiling, floor, frac, round, stop_gradient, trunc

RATIO = 4             # between consecutive trial radii
RADII = 9             # 1, 1/4, ..., 4**-8 (1.5e-5)
EXTRA_POINTS = 64     # points on the circle beyond the highest order (aliasing (r/R)^N)
AGREE = 1e-15         # the circle's mean must give f(x0) this closely (relative)
GOOD = 1e-12          # relative bound at which an order needs no smaller radius,
FLOOR = 1e-20         # or this absolute one (a derivative that is 0)

# piecewise constant: frozen to their value at the point
_FROZEN = (sp.sign, floor, ceiling, round, trunc, sp.Heaviside, sp.DiracDelta)
# no analytic branch: a Cauchy integral would see what autodx does not differentiate
_REFUSED = {stop_gradient: "stop_gradient", sp.re: "re", sp.im: "im",
            sp.conjugate: "conjugate", sp.Derivative: "an unevaluated derivative"}


def local(expr: sp.Expr, order: list, x0: list) -> Callable[[list], object]:
    """``expr``'s branch at the real point ``x0`` as a function of complex arguments:
    analytic where ``expr`` is, equal to it on a real neighbourhood of ``x0``.

    Raises NotImplementedError where there is no such branch (``stop_gradient``).

    Example:
        >>> x = sp.Symbol("x", real=True)
        >>> f = local(sp.Abs(x - 1) + floor(x), [x], [mpmath.mpf(0.5)])
        >>> f([mpmath.mpc(0.5, 0.25)])   # 1 - z + 0
        mpc(real='0.5', imag='-0.25')
    """
    def special(e, build):
        kind = type(e)
        if kind in _REFUSED or isinstance(e, sp.Derivative):
            raise NotImplementedError(f"{_REFUSED.get(kind, 'an unevaluated derivative')} "
                                      "has no analytic continuation")
        if kind in _FROZEN:
            value = _MP[kind](*(build(a)(x0) for a in e.args))
            return lambda v: value
        if isinstance(e, sp.Piecewise):
            for piece in e.args:
                if build(piece.cond)(x0):
                    return build(piece.expr)
            return lambda v: mpmath.nan
        if kind in (sp.Min, sp.Max):
            args = [build(a) for a in e.args]
            values = [a(x0) for a in args]
            return args[values.index((min if kind is sp.Min else max)(values))]
        rule = _BRANCHES.get(kind)
        return rule(*(build(a) for a in e.args), x0) if rule else None
    return mp_function(expr, order, special)


def _abs(a, x0):
    s = 1 if a(x0) >= 0 else -1
    return lambda v: s * a(v)


def _cbrt(a, x0):  # the principal cube root is analytic near the positive reals
    s = 1 if a(x0) >= 0 else -1
    return lambda v: s * mpmath.cbrt(s * a(v))


def _frac(a, x0):
    whole = mpmath.floor(a(x0))
    return lambda v: a(v) - whole


def _mod(a, b, x0):
    q = mpmath.floor(a(x0) / b(x0))
    return lambda v: a(v) - b(v) * q


def _atan2(y, x, x0):
    """atan(y/x) plus the multiple of pi that makes it atan2 at the point; off x = 0
    the other way round."""
    y0, xv = y(x0), x(x0)
    if xv != 0:
        turn = 0 if xv > 0 else (1 if y0 >= 0 else -1)
        return lambda v: mpmath.atan(y(v) / x(v)) + turn * mpmath.pi
    s = 1 if y0 > 0 else -1
    return lambda v: s * mpmath.pi / 2 - mpmath.atan(x(v) / y(v))


_BRANCHES = {sp.Abs: _abs, cbrt: _cbrt, frac: _frac, Mod: _mod, sp.atan2: _atan2}


def derivatives(fn: Callable, x: list, i: int, top: int) -> list[tuple[float, float] | None]:
    """The derivatives of orders 0..``top`` of ``fn`` (from :func:`local`) along
    coordinate ``i`` at the real point ``x``, each as (value, error bound), or None
    for an order that no pair of radii gave.

    Example:
        >>> d = derivatives(lambda v: mpmath.exp(v[0]), [mpmath.mpf(0)], 0, 20)
        >>> d[20][0], d[20][1] < 1e-20
        (1.0, True)
    """
    n = top + 1 + EXTRA_POINTS
    best: list = [None] * (top + 1)
    previous = None
    for j in range(RADII):
        r = mpmath.mpf(RATIO) ** -j
        digits = 30 + int(math.lgamma(top + 1) / math.log(10) + top * j * math.log10(RATIO))
        with mpmath.workdps(digits):
            circle = _circle(fn, x, i, r, n, top)
        if circle is None:
            previous = None
            continue
        if previous is not None and _improve(best, previous, circle):
            break
        previous = circle
    return best


def _circle(fn, x, i, r, n, top):
    """(coefficients a_0..a_top, a rounding bound of each) from n points on the
    circle of radius r (f is real on the real axis, so they are real); None where f
    cannot be evaluated there, or its mean is not f(x0) (a pole or a cut inside)."""
    center = mpmath.mpf(x[i])
    point = [mpmath.mpf(v) for v in x]
    try:
        f0 = fn(point)
        values = []
        for j in range(n // 2 + 1):  # f(conj z) = conj f(z): the other half is mirrored
            point[i] = center + r * mpmath.expjpi(mpmath.mpf(2 * j) / n)
            values.append(mpmath.mpc(fn(point)))
    except Exception:  # noqa: BLE001  a function without a complex value: no circle
        return None
    if not (mpmath.isfinite(f0) and all(mpmath.isfinite(v) for v in values)):
        return None
    size = max(abs(v) for v in values)
    # a_k = (1/n) sum_j f_j w^(-jk), the terms j and n - j conjugate: a real sum
    # over half the circle, with weight 2 for the pairs
    weights = [1] + [2] * ((n - 1) // 2) + [1] * (1 - n % 2)
    cos = [mpmath.cospi(mpmath.mpf(2 * m) / n) for m in range(n)]
    sin = [mpmath.sinpi(mpmath.mpf(2 * m) / n) for m in range(n)]
    parts = [(w * v.real, w * v.imag) for w, v in zip(weights, values)]
    coefficients = []
    for k in range(top + 1):
        total = mpmath.fdot(itertools.chain.from_iterable(
            ((re, cos[j * k % n]), (im, sin[j * k % n])) for j, (re, im) in enumerate(parts)))
        coefficients.append(total / n / r ** k)
    if abs(coefficients[0] - f0) > AGREE * max(abs(f0), size):
        return None
    eps = mpmath.mpf(10) ** (5 - mpmath.mp.dps)
    rounding = [eps * size / r ** k for k in range(top + 1)]
    return coefficients, rounding


def _improve(best: list, wide, narrow) -> bool:
    """Put the estimates of two radii into ``best`` where their bound is smaller than
    the one there; True when every order is then good."""
    done = True
    for k, (a, ra, b, rb) in enumerate(zip(*wide, *narrow)):
        scale = math.factorial(k)
        bound = (abs(a - b) + ra + rb) * scale
        value = b * scale
        if best[k] is None or bound < best[k][1]:
            best[k] = (float(value), float(bound))
        done = done and best[k][1] <= max(GOOD * abs(best[k][0]), FLOOR)
    return done
