"""Subset convolution, the product of the nilpotent algebra of :mod:`autodx.partial`.

Coefficients over s directions sit in a flat array of 2^s entries, entry S the
coefficient of the product of the directions in S (its bits). The product of two such
values has c[S] = sum over T in S of a[T] b[S - T]: 3^s products, each a term of the
result, so no sum cancels (a ranked zeta/Moebius transform would take 2^s s^2 steps,
but its alternating sums lose up to 7 digits at 15 directions).

The 3^s pairs (T, U) are listed once per s, in numpy (:func:`pairs`); one gather per
factor pairs the entries, one sorted scatter-add sums them by S. Past SMALL directions,
the pairs are of blocks of 2^LOW entries (the same other directions) and the blocks'
products are written out term by term: 27 products of rows for the 3^(s - LOW) pairs
of blocks, which run as fast as XLA's loops copy. Either way the traced program has a
few dozen operations whatever s is: 16 directions compile in a fraction of a second.

    >>> import jax.numpy as jnp
    >>> conv(jnp.array([1.0, 2.0, 3.0, 4.0]), jnp.array([5.0, 6.0, 7.0, 8.0]), 2).tolist()
    [5.0, 16.0, 22.0, 60.0]
"""
from __future__ import annotations

import functools

from ._jax import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

SMALL = 8  # directions up to which single entries are paired
LOW = 3  # past that, blocks of 2^LOW entries are


def conv(a: jax.Array, b: jax.Array, s: int) -> jax.Array:
    """The subset convolution of a and b on their last axis (2^s entries); the other
    axes broadcast."""
    shape = jnp.broadcast_shapes(a.shape, b.shape)
    a, b = jnp.broadcast_to(a, shape), jnp.broadcast_to(b, shape)
    if s <= SMALL:
        t, u, at = pairs(s)
        return _add_at(lax.mul(_take(a, t, -1), _take(b, u, -1)), at, 2 ** s, -1)
    high, last = s - LOW, len(shape)
    t, u, at = pairs(high)
    a = _take(a.reshape(shape[:-1] + (2 ** high, 2 ** LOW)), t, -2)
    b = _take(b.reshape(shape[:-1] + (2 ** high, 2 ** LOW)), u, -2)
    a_ = [lax.slice_in_dim(a, t, t + 1, axis=last) for t in range(2 ** LOW)]
    b_ = [lax.slice_in_dim(b, t, t + 1, axis=last) for t in range(2 ** LOW)]
    columns = []
    for x in range(2 ** LOW):
        column = lax.mul(a_[0], b_[x])
        for t in range(1, x + 1):
            if t & x == t:
                column = lax.add(column, lax.mul(a_[t], b_[x ^ t]))
        columns.append(column)
    return _add_at(lax.concatenate(columns, last), at, 2 ** high, -2).reshape(shape)


def held(x: jax.Array) -> jax.Array:
    """x, computed once before what reads it. XLA copies the whole expression of a
    value made of cheap operations into every loop that reads it (at 16 directions,
    prod(x) into each convolution of sin(prod(x)): twice the compiling and the running)
    and drops optimization barriers on the CPU; it never copies a reduction. Adding
    -0.0 changes no number, not even the sign of a zero."""
    return lax.reduce(jnp.stack([x, jnp.full_like(x, -0.0)]), np.array(-0.0, x.dtype),
                      _plus, (0,))


def _plus(p, q):  # lax.add itself would make the reduction a sum from +0.0
    return p + q


@functools.lru_cache(maxsize=None)
def pairs(s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair (T, U) of disjoint subsets of s directions, in the order of S = T + U:
    (the T, the U, the S)."""
    t = u = np.zeros(1, np.int32)
    for _ in range(s):  # one direction more: in neither, in T, in U
        t, u = np.concatenate([2 * t, 2 * t + 1, 2 * t]), np.concatenate([2 * u, 2 * u, 2 * u + 1])
    order = np.argsort(t | u, kind="stable")
    return t[order], u[order], (t | u)[order]


def _take(x: jax.Array, index: np.ndarray, axis: int) -> jax.Array:
    """x's entries ``index`` (a constant) along ``axis``: one gather."""
    axis %= x.ndim
    dims = lax.GatherDimensionNumbers(offset_dims=tuple(d for d in range(x.ndim) if d != axis),
                                      collapsed_slice_dims=(axis,), start_index_map=(axis,))
    return lax.gather(x, index[:, None], dims,
                      tuple(1 if d == axis else n for d, n in enumerate(x.shape)),
                      mode=lax.GatherScatterMode.PROMISE_IN_BOUNDS)


def _add_at(p: jax.Array, index: np.ndarray, n: int, axis: int) -> jax.Array:
    """The entries of p along ``axis`` summed by ``index`` (a sorted constant) into n."""
    axis %= p.ndim
    dims = lax.ScatterDimensionNumbers(
        update_window_dims=tuple(d for d in range(p.ndim) if d != axis),
        inserted_window_dims=(axis,), scatter_dims_to_operand_dims=(axis,))
    zeros = jnp.zeros(p.shape[:axis] + (n,) + p.shape[axis + 1:], p.dtype)
    return lax.scatter_add(zeros, index[:, None], p, dims, indices_are_sorted=True,
                           mode=lax.GatherScatterMode.PROMISE_IN_BOUNDS)
