"""One mixed partial d^k f / dx_i1 ... dx_ik on the expression tree, in nilpotent arithmetic.

Nested one-hot jvps double the traced program at every index (16 indices: minutes to
compile, gigabytes). Here each index gets a direction e_d of its own, with e_d^2 = 0
(a repeated coordinate gets one direction per repetition, which is exact: in
(x + e_1 + e_2)^2 the coefficient of e_1 e_2 is 2). Every sub-expression is carried as
its coefficients on the products of the directions it depends on: an array with one
axis per index, of length 2 where the value depends on that direction and 1 where it
does not, so products of values that share no direction are outer products. The
partial is the coefficient of e_1 ... e_k: exact, no differences of large numbers.

A product is a subset convolution over the directions both factors share, written as
one stacked recursion per shared axis (trace size linear in k, work 3^shared). A
function of one argument f(u0 + n) = sum_j f^(j)(u0)/j! n^j takes the derivatives
f^(j)(u0) from its Taylor rule in the registry, then adds one direction at a time:
f^(j)(u + e v) = f^(j)(u) + e f^(j+1)(u) v (e^2 = 0). A construct without a rule here
raises :class:`NoRule`, and the caller falls back to nested jvps.

    >>> import jax.numpy as jnp
    >>> from autodx.parse import parse
    >>> value, d = mixed_partial(parse("x*y**2"), {}, {"x": jnp.array(1.0), "y": jnp.array(2.0)},
    ...                          [("x", None), ("y", None), ("y", None)])
    >>> float(value), float(d)
    (4.0, 2.0)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ._jax import jax
import jax.numpy as jnp
from jax import lax

from . import series as S
from .compile import binary_op
from .registry import Function, Missing
from .series import NoRule
from .tree import Bin, Call, Helper, Index, Interpreter, Node, Num

MAX_ENTRIES = 64  # a vector is carried entry by entry: longer ones go to nested jvps


@dataclass(frozen=True)
class N:
    """A scalar in the nilpotent algebra: ``c`` has one axis per direction (length 1 or 2)."""

    c: jax.Array

    @property
    def k(self) -> int:
        return self.c.ndim


def mixed_partial(tree: Node, helpers: dict[str, Helper], env: dict,
                  directions: list[tuple[str, int | None]]):
    """``(value, partial)`` of ``tree`` at ``env``; ``directions[d]`` is the coordinate of
    the d-th index: a variable name and an entry (None for a scalar variable)."""
    k = len(directions)
    variables = dict(env)
    for name in {n for n, _ in directions}:
        x = jnp.asarray(env[name])
        if x.ndim == 0:
            variables[name] = _leaf(x, [d for d, (n, _) in enumerate(directions) if n == name], k)
        else:
            if x.shape[0] > MAX_ENTRIES:
                raise NoRule(f"{name} has more than {MAX_ENTRIES} entries")
            variables[name] = [_leaf(x[i], [d for d, (n, j) in enumerate(directions)
                                            if n == name and j == i], k)
                               for i in range(x.shape[0])]
    out = _Eval(helpers).run(tree, variables)
    if isinstance(out, list):
        raise NoRule("a vector-valued expression")
    if not isinstance(out, N):
        return out, jnp.zeros_like(out)
    return out.c[(0,) * k], (out.c[(1,) * k] if all(s == 2 for s in out.c.shape)
                             else jnp.zeros_like(out.c[(0,) * k]))


def _leaf(x: jax.Array, dirs: list[int], k: int):
    if not dirs:
        return x
    c = jnp.zeros([2 if d in dirs else 1 for d in range(k)], x.dtype)
    c = c.at[(0,) * k].set(x)
    for d in dirs:
        c = c.at[tuple(1 if e == d else 0 for e in range(k))].set(1)
    return N(c)


# ---------------------------------------------------------------- the algebra

def _pad(c: jax.Array, shape) -> jax.Array:
    return jnp.pad(c, [(0, t - s) for s, t in zip(c.shape, shape)])


def add(a, b, sign: float = 1.0) -> N:
    """a + sign * b, either of them possibly a plain value."""
    if not isinstance(b, N):
        return N(a.c.at[(0,) * a.k].add(sign * b))
    if not isinstance(a, N):
        c = sign * b.c
        return N(c.at[(0,) * b.k].add(a))
    shape = [max(s, t) for s, t in zip(a.c.shape, b.c.shape)]
    return N(_pad(a.c, shape) + sign * _pad(b.c, shape))


def mul(a, b) -> N:
    if not isinstance(a, N):
        return N(b.c * a)
    if not isinstance(b, N):
        return N(a.c * b)
    return N(_product(a.c, b.c, a.k))


def _product(a: jax.Array, b: jax.Array, k: int) -> jax.Array:
    """The product of coefficient arrays whose last k axes are directions (any leading
    axes are a batch): an outer product on the directions one factor lacks, a subset
    convolution on the shared ones, computed on flat arrays (XLA compiles arrays of rank
    16 slowly: a convolution over 12 directions took 2 s to compile in that shape)."""
    lead = max(a.ndim, b.ndim) - k
    a = a.reshape((1,) * (lead + k - a.ndim) + a.shape)
    b = b.reshape((1,) * (lead + k - b.ndim) + b.shape)
    shape = [max(s, t) for s, t in zip(a.shape, b.shape)]
    shared = [d for d in range(lead, lead + k) if a.shape[d] == 2 and b.shape[d] == 2]
    if not shared:
        return a * b
    rest = [d for d in range(lead + k) if d not in shared]
    perm = rest + shared
    rows = math.prod(shape[d] for d in rest)
    flat = [jnp.broadcast_to(x, shape).transpose(perm).reshape(rows, 2 ** len(shared))
            for x in (a, b)]
    c = _conv(*flat, len(shared)).reshape([shape[d] for d in perm])
    return c.transpose([perm.index(d) for d in range(lead + k)])


def _conv(a: jax.Array, b: jax.Array, s: int) -> jax.Array:
    """Subset convolution of (rows, 2^s) arrays: on the first direction c0 = a0 b0,
    c1 = a0 b1 + a1 b0, the three products stacked as rows and recursed on together."""
    if s == 0:
        return a * b
    r, h = a.shape[0], 2 ** (s - 1)
    a0, a1 = a[:, :h], a[:, h:]
    b0, b1 = b[:, :h], b[:, h:]
    p = _conv(jnp.concatenate([a0, a0, a1]), jnp.concatenate([b0, b1, b0]), s - 1)
    return jnp.concatenate([p[:r], p[r:2 * r] + p[2 * r:]], axis=1)


def lift(u, rule) -> N:
    """f(u) for f with the Taylor rule ``rule`` (series -> series)."""
    if not isinstance(u, N):
        return rule(jnp.asarray(u)[None])[0]
    c, k = u.c, u.k
    axes = [d for d in range(k) if c.shape[d] == 2]
    K = len(axes)
    a0 = c[(0,) * k]
    base = jnp.concatenate([a0[None], jnp.ones((min(K, 1),), a0.dtype),
                            jnp.zeros((max(K - 1, 0),), a0.dtype)])
    coef = rule(base)
    fact = jnp.asarray([float(math.factorial(j)) for j in range(K + 1)], coef.dtype)
    g = (coef * fact).reshape((K + 1,) + (1,) * k)  # f^(j)(u0), j = 0..K
    for i, ax in enumerate(axes):
        # u with degree 0 on the axes still to come, degree 1 on this one
        v = c[tuple(slice(1, 2) if d == ax else slice(0, 1) if d in axes[i + 1:]
                    else slice(None) for d in range(k))]
        g = jnp.concatenate([g[:-1], _product(g[1:], v, k)], axis=1 + ax)
    return N(g[0])


# ---------------------------------------------------------------- tree walk

def _each(f, *args):
    """f entry by entry over the list-valued (vector) arguments."""
    lists = [a for a in args if isinstance(a, list)]
    if not lists:
        return f(*args)
    n = len(lists[0])
    rows = [a if isinstance(a, list) else [a[i] for i in range(n)] if jnp.ndim(a) == 1
            else [a] * n for a in args]
    if any(len(r) != n for r in rows):
        raise NoRule("vectors of different lengths")
    return [f(*parts) for parts in zip(*rows)]


class _Eval(Interpreter):
    def index(self, node: Index, v):
        return v[node.index]

    def negate(self, v):
        return _each(lambda a: N(-a.c) if isinstance(a, N) else -a, v)

    def binary(self, node: Bin, a, b):
        return _each(lambda x, y: self._binary(node, x, y), a, b)

    def _binary(self, node: Bin, a, b):
        if not isinstance(a, N) and not isinstance(b, N):
            return binary_op(node)(a, b)
        if node.op in "+-":
            return add(a, b, 1.0 if node.op == "+" else -1.0)
        if node.op == "*":
            return mul(a, b)
        if node.op == "/":
            return mul(a, lift(b, lambda s: S.div(S.lift(1.0, s), s)))
        if not isinstance(b, N) and isinstance(node.right, Num):
            return lift(a, lambda s: S.pow(s, node.right.value))
        raise NoRule("a power with a varying exponent")

    def function(self, node: Call, fn: Function, args: list):
        if not any(isinstance(a, N) or isinstance(a, list) and any(isinstance(e, N) for e in a)
                   for a in args):
            return fn.jax(*[jnp.stack(a) if isinstance(a, list) else a for a in args])
        if node.func == "sum":
            return _total(args[0])
        if node.func == "dot":
            return _total(_each(mul_any, args[0], args[1]))
        if node.func == "prod":
            return _prod(args[0])
        if node.func == "norm":
            return lift(_total(_each(lambda a: mul_any(a, a), args[0])),
                        lambda s: S.pow(s, 0.5))
        if fn.vector or len(args) != 1 or isinstance(fn.taylor, Missing):
            raise NoRule(f"{fn.name}() in nilpotent arithmetic")
        return _each(lambda a: lift(a, fn.taylor), args[0])

    def diff(self, node: Call, scope):
        raise NoRule("diff() in nilpotent arithmetic")


def mul_any(a, b):
    return mul(a, b) if isinstance(a, N) or isinstance(b, N) else a * b


def _entries(v) -> list:
    if isinstance(v, list):
        return v
    raise NoRule("a vector function of a vector that does not vary")


def _total(v):
    out = 0.0
    for e in _entries(v):
        out = add(e, out) if isinstance(e, N) else add(out, e) if isinstance(out, N) else out + e
    return out


def _prod(v):
    items = list(_entries(v))
    while len(items) > 1:  # pairwise: factors that share no direction are outer products
        items = [mul_any(items[i], items[i + 1]) if i + 1 < len(items) else items[i]
                 for i in range(0, len(items), 2)]
    return items[0]
