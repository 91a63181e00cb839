"""Helpers that some entries' parts are written with: the JAX, Taylor, sympy and
mpmath sides of functions that take more than one line."""
from __future__ import annotations

import functools
import math
from typing import Callable

from ..errors import ExpressionError
from .core import Lazy, jnp, mp, s, sp, sx


# ---------------------------------------------------------------- helpers of the parts

def _jax_vector(name: str, x):
    if jnp.ndim(x) != 1:
        raise ExpressionError(f"{name}() needs a vector argument, got a scalar")
    return x


def _jax_reduce(pairwise: Callable, whole: Callable) -> Callable:
    """min/max: elementwise over several arguments, or over the entries of one."""
    def op(*args):
        if len(args) == 1:
            return whole(args[0])
        return functools.reduce(pairwise, args)
    return op


def _jax_log(x, base=None):
    return jnp.log(x) if base is None else jnp.log(x) / jnp.log(base)


def _taylor_log(a, base=None):
    return s.log(a) if base is None else s.div(s.log(a), s.log(base))


def _taylor_cbrt(a):
    sign = jnp.sign(a[0])
    return s.scale(s.pow(s.scale(a, sign), 1.0 / 3.0), sign)


def _taylor_norm(a):
    a = s.vector("norm", a)
    return s.pow(jnp.sum(s.mul(a, a), axis=-1), 0.5)


def _constant_rule(rule: Callable) -> Callable:
    """Mark a Taylor rule whose series is always the value then zeros (a piecewise
    constant function): Taylor mode carries its result as a plain value, which is
    exactly constant, so a function of it is too (``asin(floor(x))``)."""
    rule.constant = True
    return rule


def _taylor_step(jax_fn: Lazy) -> Callable:
    """Piecewise constant: the value, then zeros."""
    return _constant_rule(lambda a: s.lift(jax_fn(a[0]), a))


def _sympy_vector(name: str, v) -> list:
    if not isinstance(v, list):
        raise ExpressionError(f"{name}() needs a vector argument, got a scalar")
    return v


def _sympy_dot(a, b):
    a, b = _sympy_vector("dot", a), _sympy_vector("dot", b)
    if len(a) != len(b):
        raise ExpressionError(f"dot() of vectors of lengths {len(a)} and {len(b)}")
    return sp.Add(*(x * y for x, y in zip(a, b)))


def _truth(v):
    return v != 0


def _jax_relation(op: str) -> Callable:
    compare = {"Lt": jnp.less, "Le": jnp.less_equal, "Gt": jnp.greater,
               "Ge": jnp.greater_equal, "Eq": jnp.equal, "Ne": jnp.not_equal}[op]
    return lambda a, b: jnp.where(compare(a, b), 1.0, 0.0)


def _jax_logic(reduce: str) -> Callable:
    pairwise = jnp.logical_and if reduce == "and" else jnp.logical_or
    return lambda *args: jnp.where(functools.reduce(pairwise, map(_truth, args)), 1.0, 0.0)


def _taylor_value(jax_fn: Callable) -> Callable:
    """Piecewise constant in all its arguments: the value at t0, then zeros."""
    def rule(*cs):
        like = max(cs, key=lambda c: c.ndim)
        return s.lift(jax_fn(*(c[0] for c in cs)), like)
    return _constant_rule(rule)


def _jax_piecewise(*args):
    """(e1, c1, e2, c2, ...): the first e whose c is true; nan where none is (sympy's
    Piecewise is undefined there)."""
    out = math.nan
    for e, c in reversed(list(zip(args[::2], args[1::2]))):
        out = jnp.where(_truth(c), e, out)
    return out


def _taylor_piecewise(*cs):
    like = max(cs, key=lambda c: c.ndim)
    out = jnp.full_like(like, math.nan)
    for e, c in reversed(list(zip(cs[::2], cs[1::2]))):
        e, c = s.match(e, c)
        out, e = s.match(out, e)
        out = jnp.where(_truth(c[0]), e, out)
    return out


def _mp_piecewise(*args):
    for e, c in zip(args[::2], args[1::2]):
        if c:
            return e
    return mp.nan


def _jax_heaviside(x, h0=0.5):
    return jnp.where(x > 0, 1.0, jnp.where(x < 0, 0.0, h0))


def _mp_heaviside(x, h0=0.5):
    return mp.mpf(1) if x > 0 else (mp.mpf(0) if x < 0 else mp.mpf(h0))


def _jax_dirac(x, k=0):
    return jnp.where(x == 0, math.inf, 0.0)


def _mp_dirac(x, k=0):
    return mp.inf if x == 0 else mp.mpf(0)


_MP_RELATIONS = {
    "Lt": lambda a, b: mp.mpf(a < b), "Le": lambda a, b: mp.mpf(a <= b),
    "Gt": lambda a, b: mp.mpf(a > b), "Ge": lambda a, b: mp.mpf(a >= b),
    "Eq": lambda a, b: mp.mpf(a == b), "Ne": lambda a, b: mp.mpf(a != b),
}


def _taylor_mod(a, b):
    a, b = s.match(a, b)
    return s.with_value(a - s.scale(b, jnp.floor(a[0] / b[0])), jnp.mod(a[0], b[0]))


def _acot(x):
    return jnp.where(x >= 0, math.pi / 2, -math.pi / 2) - jnp.arctan(x)


def _taylor_inverse(value: Callable, slope: Callable) -> Callable:
    """f(a) by integrating f'(a) a', f'(a) given as a series function of a."""
    return lambda a: s.by_derivative(a, value(a[0]), slope(a))


def _side(a):
    return jnp.where(a >= 0, 1.0, -1.0)


def _taylor_logaddexp(a, b):
    a, b = s.match(a, b)
    high = jnp.where(a[0] >= b[0], 1.0, 0.0)
    top, low = high * a + (1 - high) * b, high * b + (1 - high) * a
    return top + s.log1p(s.exp(low - top))


def _jax_logaddexp(a, b):
    top = jnp.maximum(a, b)
    return top + jnp.log1p(jnp.exp(-jnp.abs(a - b)))


def _jax_lambertw(x, k=0):
    return jnp.where(k == 0, sx.lambertw(x), math.nan)


def _sympy_optional(cls: Lazy, default) -> Callable:
    """A sympy class whose last argument may be left out."""
    return lambda x, extra=None: cls(x) if extra is None or extra == default else cls(x, extra)


def _taylor_root(a, n):
    a, n = s.match(a, n)
    return s.exp(s.div(s.log(a), n))


_ERF_SCALE = 2.0 / math.sqrt(math.pi)  # erf'(x) = _ERF_SCALE exp(-x^2)
_WRITTEN_OUT = ("the sympy translation writes it out entry by entry with + and *, so "
                "--symbolic prints, and --check evaluates, the written-out form")
