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

A function of an argument that is exactly constant is constant: ``sqrt(x - x)`` is 0
with every partial 0, where sqrt's rule would multiply sqrt'(0) = inf by the
argument's zero coefficients (nan). The algebra cuts off what a direction repeats
(with one direction, x**2 - 2*x at 1 has no coefficient left, yet is not constant),
so only an argument known to be affine in the coordinates (sums of them and of
constants, scaled) is judged by its coefficients; a function of such an argument,
or of arguments that are themselves constant, is its value where they all are.

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
from typing import Any

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
    """A scalar in the nilpotent algebra: ``c`` has one axis per direction (length 1 or 2).

    What is known of it exactly, beyond its coefficients: ``affine``, an affine
    function of the coordinates, so nothing of it was cut off; ``flat``, a traced bool,
    true where it is exactly constant; ``moves``, that it is known not to be constant
    (a coordinate, x + 1, 2 x, sin(x)), so that a function of it needs no guard."""

    c: jax.Array
    affine: bool = False
    flat: Any = None
    moves: bool = False

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
    return N(c, affine=True, moves=True)


# ---------------------------------------------------------------- exactly constant

def _constant(v) -> Any:
    """Whether ``v`` is exactly constant: True, False, or a traced bool."""
    if not isinstance(v, N):
        return True
    if v.moves:
        return False
    if v.affine:  # nothing cut off: constant where every direction's coefficient is 0
        return jnp.all(v.c.at[(0,) * v.k].set(0) == 0)
    return False if v.flat is None else v.flat


def _made(c: jax.Array, *parts, affine: bool = False, moves: bool = False) -> N:
    """The result of an operation on ``parts``: affine where asked (sums and scalings
    of affine ones), else exactly constant where every part is. An unused flag costs
    nothing: XLA drops what no guard reads."""
    if affine or moves:
        return N(c, affine=affine, moves=moves)
    flat = S.all_flags(_constant(p) for p in parts)
    return N(c, flat=None if flat is False else flat)


def _moves(v) -> bool:
    return isinstance(v, N) and v.moves


def _scalar(v) -> bool:
    """A number written in the expression (not a traced value), other than 0."""
    return isinstance(v, (int, float)) and v != 0 and math.isfinite(v)


# ---------------------------------------------------------------- the algebra

def _pad(c: jax.Array, shape) -> jax.Array:
    return jnp.pad(c, [(0, t - s) for s, t in zip(c.shape, shape)])


def _affine(*parts) -> bool:
    return all(p.affine for p in parts if isinstance(p, N))


def add(a, b, sign: float = 1.0) -> N:
    """a + sign * b, either of them possibly a plain value."""
    if not isinstance(b, N):
        c = a.c.at[(0,) * a.k].add(sign * b)
    elif not isinstance(a, N):
        c = (sign * b.c).at[(0,) * b.k].add(a)
    else:
        shape = [max(s, t) for s, t in zip(a.c.shape, b.c.shape)]
        c = _pad(a.c, shape) + sign * _pad(b.c, shape)
    moves = _moves(a) and not isinstance(b, N) or _moves(b) and not isinstance(a, N)
    return _made(c, a, b, affine=_affine(a, b), moves=moves)


def mul(a, b) -> N:
    """a * b; a moving factor times a number other than 0 moves, and so does the
    product of two moving affine ones (a polynomial of degree 2)."""
    if not isinstance(a, N):
        return _made(b.c * a, b, affine=b.affine, moves=b.moves and _scalar(a))
    if not isinstance(b, N):
        return _made(a.c * b, a, affine=a.affine, moves=a.moves and _scalar(b))
    return _made(_product(a.c, b.c, a.k), a, b,
                 moves=a.moves and b.moves and a.affine and b.affine)


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


def lift(u, rule, moves: bool = True) -> N:
    """f(u) for f with the Taylor rule ``rule`` (series -> series); where u is exactly
    constant, f(u0) alone (unless it is nan: f is not defined there), and a plain value
    for a piecewise constant f. ``moves``: f is constant on no interval, so f(u) moves
    where u does (u ** 0 is constant)."""
    if not isinstance(u, N):
        return rule(jnp.asarray(u)[None])[0]
    if getattr(rule, "constant", False):
        return rule(u.c[(0,) * u.k][None])[0]
    g = _lift(u, rule)
    flat = _constant(u)
    if flat is False:
        return N(g, moves=u.moves and moves)
    origin = jnp.zeros(g.shape, bool).at[(0,) * u.k].set(True)
    keep = jnp.logical_or(origin, jnp.isnan(g[(0,) * u.k]))  # f undefined there: nan stays
    return N(jnp.where(jnp.logical_and(flat, ~keep), jnp.zeros_like(g), g), flat=flat)


def _lift(u: N, rule) -> jax.Array:
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
    return g[0]


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
        return _each(lambda a: N(-a.c, a.affine, a.flat, a.moves) if isinstance(a, N)
                     else -a, v)

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
            return lift(a, lambda s: S.pow(s, node.right.value), node.right.value != 0)
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
