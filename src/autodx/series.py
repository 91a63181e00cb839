"""Truncated Taylor series arithmetic: the building blocks of every Taylor rule.

A series is an array of normalised coefficients ``c[k] = f^(k)(t0) / k!`` on axis 0
(length order + 1), the value's shape after it (a vector's series is ``(K + 1, n)``).
Products are truncated convolutions (one gather and one contraction); division,
``exp``, ``sin``/``cos``, ``tan``, ``tanh`` and ``sigmoid`` are the classical coefficient
recurrences run by ``lax.fori_loop``; the remaining functions integrate their
derivative series. So a traced program has the same size at order 5 and at order 100
and compiles in about the same time, where ``jax.experimental.jet`` unrolls every
recurrence (minutes at order 50).

The Taylor rules of :mod:`autodx.registry` are written with these functions; the walk
of the expression tree that applies them is :mod:`autodx.taylor`. Example:

    >>> import jax.numpy as jnp
    >>> [round(float(v), 6) for v in exp(jnp.array([0.0, 2.0, 0.0, 0.0]))]  # exp(2t)
    [1.0, 2.0, 2.0, 1.333333]
"""
from __future__ import annotations

import contextlib
import contextvars

from ._jax import jax
import jax.numpy as jnp
import numpy as np
from jax import lax


def all_flags(flags):
    """The conjunction of flags that are True, False or traced bools: False as soon as
    one is False, True when all are, else the traced ``and`` of those not True (what
    the Taylor walk and the nilpotent one know of arguments that are exactly constant)."""
    out = True
    for flag in flags:
        if flag is False:
            return False
        out = flag if out is True else out if flag is True else jnp.logical_and(out, flag)
    return out


class NoRule(Exception):
    """The tree uses something Taylor mode on the tree cannot propagate."""


# ---------------------------------------------------------------- plumbing

def _k(c):
    """0, 1, ..., K shaped to broadcast against c."""
    return jnp.arange(c.shape[0], dtype=c.dtype).reshape((-1,) + (1,) * (c.ndim - 1))


def first(v, n: int) -> jax.Array:
    """The series of a constant: v, then n - 1 zeros (a concatenation, not a scatter)."""
    v = jnp.asarray(v)
    return jnp.concatenate([v[None], jnp.zeros((n - 1,) + v.shape, v.dtype)])


def _at(c: jax.Array, k) -> jax.Array:
    """c[k] for a traced k: a dynamic slice, which compiles lighter than a gather."""
    return lax.dynamic_index_in_dim(c, k, axis=0, keepdims=False)


def _put(c: jax.Array, k, value) -> jax.Array:
    """c with c[k] = value: a dynamic update slice, lighter than a scatter."""
    return lax.dynamic_update_index_in_dim(c, jnp.asarray(value, c.dtype), k, axis=0)


def lift(v, like: jax.Array) -> jax.Array:
    """The series of the constant v, as long as ``like``."""
    return first(jnp.asarray(v, like.dtype), like.shape[0])


def match(a: jax.Array, b: jax.Array):
    """Give two coefficient arrays the same trailing shape (scalar against vector)."""
    while a.ndim < b.ndim:
        a = a[..., None]
    while b.ndim < a.ndim:
        b = b[..., None]
    return a, b


def scale(c: jax.Array, v) -> jax.Array:
    """c * v for a plain value v (broadcast over the trailing axes)."""
    v = jnp.asarray(v)
    c = c.reshape(c.shape + (1,) * max(0, v.ndim - (c.ndim - 1)))
    return c * v


def _shifted(h: jax.Array, k) -> jax.Array:
    """v[j] = h[k - j] for j <= k, else 0 (one dynamic slice of the padded reverse)."""
    n = h.shape[0]
    padded = jnp.concatenate([h[::-1], jnp.zeros_like(h)])
    return lax.dynamic_slice_in_dim(padded, n - 1 - k, n, axis=0)


_REVERSIBLE = contextvars.ContextVar("reversible", default=False)


@contextlib.contextmanager
def reversible():
    """Series computed in this block run their recurrences with a trip count XLA sees
    (a scan), which reverse mode can differentiate: for ``diff(e, v, n)`` inside a
    program that grad or hessian differentiates again (n <= 10: short loops)."""
    token = _REVERSIBLE.set(True)
    try:
        yield
    finally:
        _REVERSIBLE.reset(token)


def _loop(start: int, stop: int, body, init):
    """``lax.fori_loop`` whose trip count XLA cannot see: without the barrier, XLA
    unrolls a loop of known length, and the compile time grows with the order (a
    loop without it in :func:`reversible`)."""
    if _REVERSIBLE.get():
        return lax.fori_loop(start, stop, body, init)
    return lax.fori_loop(start, lax.optimization_barrier(jnp.int32(stop)), body, init)


# ---------------------------------------------------------------- arithmetic

def mul(a: jax.Array, b: jax.Array) -> jax.Array:
    """Truncated Cauchy product: c[k] = sum_j a[j] b[k-j], as one gather of b into a
    lower-triangular Toeplitz matrix (constant, in-bounds indices) and one contraction."""
    a, b = match(a, b)
    n = a.shape[0]
    index = np.subtract.outer(np.arange(n), np.arange(n)) + n  # n + k - j, in [1, 2n - 1]
    padded = jnp.concatenate([jnp.zeros_like(b), b])
    toeplitz = padded.at[index].get(mode="promise_in_bounds")
    return jnp.einsum("kj...,j...->k...", toeplitz, a)


def div(a: jax.Array, b: jax.Array) -> jax.Array:
    """c = a / b: c[k] = (a[k] - sum_{j>=1} b[j] c[k-j]) / b[0]."""
    a, b = match(a, b)
    a = jnp.broadcast_to(a, jnp.broadcast_shapes(a.shape, b.shape))
    tail = jnp.concatenate([jnp.zeros_like(b[:1]), b[1:]])

    def step(k, c):
        return _put(c, k, (_at(a, k) - jnp.sum(tail * _shifted(c, k), axis=0)) / b[0])
    return _loop(0, a.shape[0], step, jnp.zeros_like(a))


def deriv(a: jax.Array) -> jax.Array:
    """Series of a'(t): p[m] = (m+1) a[m+1]; the last entry is never used."""
    return jnp.concatenate([a[1:] * _k(a)[1:], jnp.zeros_like(a[:1])])


def integrate(p: jax.Array, y0) -> jax.Array:
    """Series y with y' = p and y(t0) = y0."""
    y0 = jnp.broadcast_to(jnp.asarray(y0, p.dtype), p.shape[1:])
    return jnp.concatenate([y0[None], p[:-1] / _k(p)[1:]])


def by_derivative(a: jax.Array, y0, dydx: jax.Array) -> jax.Array:
    """Series of f(a) given f(a0) and the series of f'(a): integrate f'(a) a'."""
    return integrate(mul(dydx, deriv(a)), y0)


def one_minus_square(a: jax.Array, sign: float = -1.0) -> jax.Array:
    """1 - a^2, or 1 + a^2 with sign = +1."""
    return lift(1.0, a) + sign * mul(a, a)


# ---------------------------------------------------------------- recurrences

def ode(a: jax.Array, y0, alpha: float, beta: float, gamma: float) -> jax.Array:
    """Series y with y' = (alpha + beta y + gamma y^2) a' and y(t0) = y0.

    exp is (0, 1, 0), tan (1, 0, 1), tanh (1, 0, -1), sigmoid (0, 1, -1).
    """
    ja = a * _k(a)

    def g(k, y):
        square = jnp.sum(y * _shifted(y, k), axis=0)
        return (k == 0) * alpha + beta * _at(y, k) + gamma * square

    def step(k, carry):
        y, h = carry
        y = _put(y, k, jnp.sum(ja * _shifted(h, k), axis=0) / k)
        return y, _put(h, k, g(k, y))
    y = first(jnp.broadcast_to(jnp.asarray(y0, a.dtype), a.shape[1:]), a.shape[0])
    h = _put(jnp.zeros_like(a), 0, g(0, y))
    y, _ = _loop(1, a.shape[0], step, (y, h))
    return y


def exp(a: jax.Array) -> jax.Array:
    return ode(a, jnp.exp(a[0]), 0.0, 1.0, 0.0)


def sincos(a: jax.Array, sign: float):
    """(sin, cos) series, or (sinh, cosh) with sign = +1."""
    ja = a * _k(a)
    if sign < 0:
        s0, c0 = jnp.sin(a[0]), jnp.cos(a[0])
    else:
        s0, c0 = jnp.sinh(a[0]), jnp.cosh(a[0])

    def step(k, carry):
        s, c = carry
        s_k = jnp.sum(ja * _shifted(c, k), axis=0) / k
        c_k = sign * jnp.sum(ja * _shifted(s, k), axis=0) / k
        return _put(s, k, s_k), _put(c, k, c_k)
    s = first(s0, a.shape[0])
    c = first(c0, a.shape[0])
    return _loop(1, a.shape[0], step, (s, c))


def log(a: jax.Array) -> jax.Array:
    return integrate(div(deriv(a), a), jnp.log(a[0]))


def pow(a: jax.Array, r: float) -> jax.Array:  # noqa: A001  (the series' own pow)
    """a ** r for a constant real r."""
    if r == int(r) and abs(r) <= 1024:
        return ipow(a, int(r))
    k_ = _k(a)

    def step(k, y):  # k a0 y[k] = sum_j (j (r + 1) - k) a[j] y[k - j]
        w = (k_ * (r + 1) - k) * a
        return _put(y, k, jnp.sum(w * _shifted(y, k), axis=0) / (k * a[0]))
    y = first(a[0] ** r, a.shape[0])
    return _loop(1, a.shape[0], step, y)


def ipow(a: jax.Array, n: int) -> jax.Array:
    """a ** n for a constant integer n: square and multiply."""
    if n < 0:
        return div(lift(1.0, a), ipow(a, -n))
    if n == 0:
        return lift(jnp.ones(a.shape[1:], a.dtype), a)
    result, base = None, a
    while n:  # square and multiply: about log2(n) products
        if n & 1:
            result = base if result is None else mul(result, base)
        n >>= 1
        if n:
            base = mul(base, base)
    return result


# ---------------------------------------------------------------- several arguments

def atan2(a: jax.Array, b: jax.Array) -> jax.Array:
    a, b = match(a, b)
    slope = div(mul(b, deriv(a)) - mul(a, deriv(b)), mul(a, a) + mul(b, b))
    return integrate(slope, jnp.arctan2(a[0], b[0]))


def minimum(*cs: jax.Array) -> jax.Array:
    return _extreme(cs, lowest=True)


def maximum(*cs: jax.Array) -> jax.Array:
    return _extreme(cs, lowest=False)


def _extreme(cs, lowest: bool) -> jax.Array:
    """The series of the argument that is least (greatest) at t0; ties take the first.
    One vector argument: its least (greatest) entry."""
    if len(cs) == 1:
        (a,) = cs
        if a.ndim == 1:
            return a
        pick = jnp.argmin(a[0]) if lowest else jnp.argmax(a[0])
        return lax.dynamic_index_in_dim(a, pick, axis=1, keepdims=False)
    better = jnp.less if lowest else jnp.greater
    out = cs[0]
    for c in cs[1:]:
        x, y = match(out, c)
        out = jnp.where(better(x[0], y[0]) | (x[0] == y[0]), x, y)
    return out


# ---------------------------------------------------------------- vectors

def vector(name: str, a: jax.Array) -> jax.Array:
    """``a`` if it is the series of a vector; NoRule (and the fallback's own error
    message) for a scalar."""
    if a.ndim != 2:
        raise NoRule(f"{name} of a scalar")
    return a


def dot(a: jax.Array, b: jax.Array) -> jax.Array:
    a, b = match(a, b)
    return jnp.sum(mul(a, b), axis=-1)


def prod(a: jax.Array) -> jax.Array:
    def step(i, acc):
        return mul(acc, lax.dynamic_index_in_dim(a, i, axis=1, keepdims=False))
    return lax.fori_loop(0, a.shape[1], step, lift(1.0, a[:, 0]))


# ---------------------------------------------------------------- composition, tails

def compose(a: jax.Array, coeffs: jax.Array) -> jax.Array:
    """f(a) from f's own normalised Taylor coefficients at a[0] (``coeffs[k] =
    f^(k)(a0) / k!``, as long as ``a``): Horner's rule in ``u = a - a0``, one product a
    step inside one loop. For functions whose derivatives at a point are known in closed
    form (the gamma family, Bessel functions) but satisfy no short recurrence."""
    coeffs, a = match(coeffs, a)
    u = jnp.concatenate([jnp.zeros_like(a[:1]), a[1:]])
    n = a.shape[0]

    def step(i, acc):
        return _put(mul(acc, u), 0, _at(coeffs, n - 1 - i) + 0 * acc[0])
    acc = first(jnp.broadcast_to(coeffs[n - 1], jnp.broadcast_shapes(coeffs.shape[1:],
                                                                       a.shape[1:])), n)
    return _loop(1, n, step, acc)


def with_value(c: jax.Array, value) -> jax.Array:
    """c with its constant term replaced by ``value`` (an exactly computed value)."""
    return _put(c, 0, jnp.broadcast_to(jnp.asarray(value, c.dtype), c.shape[1:]))


def expm1(a: jax.Array) -> jax.Array:
    """exp(a) - 1: the series of exp, with expm1(a0) as its value (no cancellation)."""
    return with_value(exp(a), jnp.expm1(a[0]))


def log1p(a: jax.Array) -> jax.Array:
    return integrate(div(deriv(a), lift(1.0, a) + a), jnp.log1p(a[0]))


def _side(a: jax.Array) -> jax.Array:
    """+1 where a0 >= 0, else -1: |a| = side * a near a0, smooth through a0 = 0."""
    return jnp.where(a[0] >= 0, 1.0, -1.0).astype(a.dtype)


def tanh(a: jax.Array) -> jax.Array:
    """tanh(a): near 0 the ODE y' = 1 - y^2; for |a0| >= 1, s (1 - E)/(1 + E) with
    E = exp(-2|a|), whose coefficients are quotients of small, exactly computed terms,
    so relative accuracy holds in the tails (at a0 = -20 the derivatives are 1.7e-17,
    ..., where 1 - y^2 rounds to 0)."""
    side = _side(a)
    e = expm1(scale(a, -2.0 * side))             # E - 1
    tail = scale(div(-e, lift(2.0, a) + e), side)
    near = ode(a, jnp.tanh(a[0]), 1.0, 0.0, -1.0)
    return jnp.where(jnp.abs(a[0]) < 1.0, near, tail)


def sigmoid(a: jax.Array) -> jax.Array:
    """1/(1 + exp(-a)): near 0 the ODE y' = y - y^2; for |a0| >= 1 through
    E = exp(-|a|): E/(1 + E) below 0, 1 - E/(1 + E) above (accurate at a0 = 35)."""
    side = _side(a)
    e = exp(scale(a, -side))
    tail = div(e, lift(1.0, a) + e)               # sigmoid(-|a|)
    up = with_value(-tail, jnp.zeros_like(a[0]))
    value = 1.0 / (1.0 + jnp.exp(-a[0]))
    far = with_value(jnp.where(side > 0, up, tail), value)
    near = ode(a, value, 0.0, 1.0, -1.0)
    return jnp.where(jnp.abs(a[0]) < 1.0, near, far)


def step(value, a: jax.Array) -> jax.Array:
    """A piecewise constant function: its value at a0, then zeros."""
    return lift(value, a)
