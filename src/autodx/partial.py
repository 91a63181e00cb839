"""One mixed partial d^k f / dx_i1 ... dx_ik on the expression tree, in nilpotent arithmetic.

Nested one-hot jvps double the traced program at every index (16 indices: minutes to
compile, gigabytes). Here each index gets a direction e_d of its own, with e_d^2 = 0
(a repeated coordinate gets one direction per repetition, which is exact: in
(x + e_1 + e_2)^2 the coefficient of e_1 e_2 is 2). Every sub-expression is carried as
its coefficients on the products of the directions it depends on (the others are not
carried): a flat array of 2^m entries for m directions, so products of values that
share no direction are outer products. The partial is the coefficient of e_1 ... e_k:
exact, every sum a sum of terms of the result, no differences of large numbers.

A product is a subset convolution over the directions both factors share (work
3^shared, a program of a few dozen operations: :mod:`autodx.subsets`). A function of one
argument f(u0 + n) = sum_j f^(j)(u0)/j! n^j takes the derivatives f^(j)(u0) from its
Taylor rule in the registry, then adds one direction at a time: f^(j)(u + e v) =
f^(j)(u) + e f^(j+1)(u) v (e^2 = 0). Only the value and the top coefficient of the
whole expression are read, so its last operation computes those two alone: the top
coefficient of a product is one dot product, that of f(u) needs one convolution fewer
per direction (a third of the work). A construct without a rule here raises
:class:`NoRule`, and the caller falls back to nested jvps.

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
from typing import Any, Callable

from ._jax import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from . import series as S
from .compile import binary_op
from .registry import Function, Missing
from .series import NoRule
from .subsets import SMALL, conv, held
from .tree import Bin, Call, Helper, Index, Interpreter, Node, Num

MAX_ENTRIES = 64  # a vector is carried entry by entry: longer ones go to nested jvps


class N:
    """A scalar in the nilpotent algebra: ``c[S]`` is the coefficient of the product of
    the directions in S, a subset of ``dirs`` (sorted) written as the bits of the flat
    index, ``dirs[0]`` the most significant.

    ``c`` is computed when first asked (the arguments of the last operation ask);
    :meth:`ends`, the value and the top coefficient, may come cheaper. What is known of
    the value exactly, beyond its coefficients: ``affine``, an affine function of the
    coordinates, so nothing of it was cut off; ``flat``, a traced bool, true where it is
    exactly constant; ``moves``, that it is known not to be constant (a coordinate,
    x + 1, 2 x, sin(x)), so that a function of it needs no guard."""

    __slots__ = ("_c", "_ends", "dirs", "affine", "flat", "moves")

    def __init__(self, c, dirs: tuple, affine: bool = False, flat: Any = None,
                 moves: bool = False, ends: Callable | None = None):
        self._c, self._ends, self.dirs = c, ends, dirs
        self.affine, self.flat, self.moves = affine, flat, moves

    @property
    def c(self) -> jax.Array:
        if callable(self._c):
            self._c = self._c()
        return self._c

    def ends(self) -> tuple:
        """(coefficient of 1, coefficient of the product of every direction in dirs)."""
        if not isinstance(self._ends, tuple):
            self._ends = self._ends() if callable(self._ends) and callable(self._c) \
                else (self.c[0], self.c[-1])
        return self._ends


def mixed_partial(tree: Node, helpers: dict[str, Helper], env: dict,
                  directions: list[tuple[str, int | None]]):
    """``(value, partial)`` of ``tree`` at ``env``; ``directions[d]`` is the coordinate of
    the d-th index: a variable name and an entry (None for a scalar variable)."""
    k = len(directions)
    variables = dict(env)
    for name in {n for n, _ in directions}:
        x = jnp.asarray(env[name])
        if x.ndim == 0:
            variables[name] = _leaf(x, [d for d, (n, _) in enumerate(directions) if n == name])
        else:
            if x.shape[0] > MAX_ENTRIES:
                raise NoRule(f"{name} has more than {MAX_ENTRIES} entries")
            variables[name] = [_leaf(x[i], [d for d, (n, j) in enumerate(directions)
                                            if n == name and j == i])
                               for i in range(x.shape[0])]
    out = _Eval(helpers).run(tree, variables)
    if isinstance(out, list):
        raise NoRule("a vector-valued expression")
    if not isinstance(out, N):
        return out, jnp.zeros_like(out)
    value, top = out.ends()
    return value, (top if out.dirs == tuple(range(k)) else jnp.zeros_like(value))


def _leaf(x: jax.Array, dirs: list[int]):
    """x + the sum of the directions ``dirs``: coefficient 1 on each alone, 0 on products."""
    if not dirs:
        return x
    units = np.zeros(2 ** len(dirs) - 1)
    units[[2 ** p - 1 for p in range(len(dirs))]] = 1
    return N(jnp.concatenate([x[None], jnp.asarray(units, x.dtype)]), tuple(dirs),
             affine=True, moves=True)


# ---------------------------------------------------------------- exactly constant

def _constant(v) -> Any:
    """Whether ``v`` is exactly constant: True, False, or a traced bool."""
    if not isinstance(v, N):
        return True
    if v.moves:
        return False
    if v.affine:  # nothing cut off: constant where every direction's coefficient is 0
        return jnp.all(v.c[1:] == 0)
    return False if v.flat is None else v.flat


def _made(c, dirs, ends, *parts, affine: bool = False, moves: bool = False) -> N:
    """The result of an operation on ``parts``: affine where asked (sums and scalings
    of affine ones), else exactly constant where every part is. An unused flag costs
    nothing: XLA drops what no guard reads."""
    if affine or moves:
        return N(c, dirs, affine=affine, moves=moves, ends=ends)
    flat = S.all_flags(_constant(p) for p in parts)
    return N(c, dirs, flat=None if flat is False else flat, ends=ends)


def _moves(v) -> bool:
    return isinstance(v, N) and v.moves


def _scalar(v) -> bool:
    """A number written in the expression (not a traced value), other than 0."""
    return isinstance(v, (int, float)) and v != 0 and math.isfinite(v)


# ---------------------------------------------------------------- layouts

def _runs(order, key) -> list[tuple[Any, int]]:
    """``order`` cut into maximal runs of equal ``key``: [(key, length)]."""
    out: list[list] = []
    for d in order:
        if out and out[-1][0] == key(d):
            out[-1][1] += 1
        else:
            out.append([key(d), 1])
    return [(a, n) for a, n in out]


def _embed(c: jax.Array, dirs: tuple, to: tuple) -> jax.Array:
    """``c`` over ``dirs`` as coefficients over ``to`` (sorted, a superset): zero on every
    product with a direction it lacks. One pad per run of missing directions."""
    if dirs == to:
        return c
    runs = _runs(to, lambda d: d in dirs)
    c = c.reshape([2 ** n if present else 1 for present, n in runs])
    return jnp.pad(c, [(0, 0 if present else 2 ** n - 1) for present, n in runs]).reshape(-1)


def _permute(c: jax.Array, src: list, dst: list) -> jax.Array:
    """``c`` over the directions ``src`` with its directions in the order ``dst``: one
    transpose of the runs that stay together."""
    if list(src) == list(dst):
        return c
    pos = {d: i for i, d in enumerate(dst)}
    runs: list[list] = []
    for d in src:
        if runs and pos[d] == pos[runs[-1][-1]] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    c = c.reshape([2 ** len(r) for r in runs])
    return c.transpose(sorted(range(len(runs)), key=lambda i: pos[runs[i][0]])).reshape(-1)


# ---------------------------------------------------------------- the algebra

def _affine(*parts) -> bool:
    return all(p.affine for p in parts if isinstance(p, N))


def add(a, b, sign: float = 1.0) -> N:
    """a + sign * b, either of them possibly a plain value."""
    if not isinstance(b, N):
        dirs, c = a.dirs, lambda: a.c.at[0].add(sign * b)
        ends = lambda: (a.ends()[0] + sign * b, a.ends()[1])  # noqa: E731
    elif not isinstance(a, N):
        dirs, c = b.dirs, lambda: (sign * b.c).at[0].add(a)
        ends = lambda: (a + sign * b.ends()[0], sign * b.ends()[1])  # noqa: E731
    else:
        dirs = tuple(sorted(set(a.dirs) | set(b.dirs)))
        c = lambda: _embed(a.c, a.dirs, dirs) + sign * _embed(b.c, b.dirs, dirs)  # noqa: E731

        def ends():  # a part without every direction has no top coefficient
            (va, ta), (vb, tb) = a.ends(), b.ends()
            ta, tb = (ta if a.dirs == dirs else 0.0), (tb if b.dirs == dirs else 0.0)
            return va + sign * vb, ta + sign * tb
    moves = _moves(a) and not isinstance(b, N) or _moves(b) and not isinstance(a, N)
    return _made(c, dirs, ends, a, b, affine=_affine(a, b), moves=moves)


def _times(a: N, s, affine: bool, moves: bool, flat=None) -> N:
    """a * s for a plain s."""
    return N(lambda: a.c * s, a.dirs, affine, flat, moves,
             lambda: tuple(e * s for e in a.ends()))


def mul(a, b) -> N:
    """a * b; a moving factor times a number other than 0 moves, and so does the
    product of two moving affine ones (a polynomial of degree 2)."""
    if not isinstance(a, N):
        a, b = b, a
    if not isinstance(b, N):
        moves = a.moves and _scalar(b)
        flat = None if a.affine or moves else _constant(a)
        return _times(a, b, a.affine, moves, None if flat is False else flat)
    dirs = tuple(sorted(set(a.dirs) | set(b.dirs)))
    return _made(lambda: _product(a.c, a.dirs, b.c, b.dirs), dirs,
                 lambda: (a.ends()[0] * b.ends()[0], _top_product(a, b)), a, b,
                 moves=a.moves and b.moves and a.affine and b.affine)


def _split(da, db) -> tuple[list, list, list]:
    shared = [d for d in da if d in db]
    return shared, [d for d in da if d not in db], [d for d in db if d not in da]


def _product(a: jax.Array, da: tuple, b: jax.Array, db: tuple) -> jax.Array:
    """The product of coefficient arrays over the directions ``da`` and ``db``: an
    outer product on the directions one factor lacks, a subset convolution on the
    shared ones; over the union of the directions, sorted."""
    dirs = sorted(set(da) | set(db))
    shared, only_a, only_b = _split(da, db)
    if not shared:  # one broadcast multiply over the runs of each factor's directions
        runs = _runs(dirs, lambda d: d in da)
        return (a.reshape([2 ** n if mine else 1 for mine, n in runs]) *
                b.reshape([1 if mine else 2 ** n for mine, n in runs])).reshape(-1)
    s = len(shared)
    if s > SMALL:
        a, b = held(a), held(b)
    a = _permute(a, da, only_a + shared).reshape(2 ** len(only_a), 1, 2 ** s)
    b = _permute(b, db, only_b + shared).reshape(1, 2 ** len(only_b), 2 ** s)
    return _permute(conv(a, b, s).reshape(-1), only_a + only_b + shared, dirs)


def _top_product(a: N, b: N):
    """The top coefficient of a * b alone: on the shared directions, the sum over T of
    a[T] b[complement of T], the others all present in each factor; one dot product."""
    shared, only_a, only_b = _split(a.dirs, b.dirs)
    if not shared:
        return a.ends()[1] * b.ends()[1]
    x = _permute(a.c, a.dirs, only_a + shared)[-2 ** len(shared):]
    y = _permute(b.c, b.dirs, only_b + shared)[-2 ** len(shared):]
    return jnp.sum(x * y[::-1])


def lift(u, rule, moves: bool = True) -> N:
    """f(u) for f with the Taylor rule ``rule`` (series -> series); where u is exactly
    constant, f(u0) alone (unless it is nan: f is not defined there), and a plain value
    for a piecewise constant f. ``moves``: f is constant on no interval, so f(u) moves
    where u does (u ** 0 is constant)."""
    if not isinstance(u, N):
        return rule(jnp.asarray(u)[None])[0]
    if getattr(rule, "constant", False):
        return rule(u.ends()[0][None])[0]
    m, flat, memo = len(u.dirs), _constant(u), {}

    def derivatives():  # f^(j)(u0), j = 0..m, traced once for c and ends alike
        if not memo:
            a0 = u.ends()[0]
            base = jnp.concatenate([a0[None], jnp.ones((1,), a0.dtype),
                                    jnp.zeros((m - 1,), a0.dtype)])
            fact = np.array([float(math.factorial(j)) for j in range(m + 1)])
            memo["d"] = rule(base) * jnp.asarray(fact, a0.dtype)
        return memo["d"]

    def full():
        g = _lift(u.c, m, derivatives())
        if flat is False:
            return g
        keep = jnp.logical_or(jnp.arange(g.shape[0]) == 0, jnp.isnan(g[0]))  # nan stays
        return jnp.where(jnp.logical_and(flat, ~keep), jnp.zeros_like(g), g)

    def ends():
        d = derivatives()
        top = _lift(u.c, m, d, top=True)
        if flat is not False:
            top = jnp.where(jnp.logical_and(flat, ~jnp.isnan(d[0])), jnp.zeros_like(top), top)
        return d[0], top
    if flat is False:
        return N(full, u.dirs, moves=u.moves and moves, ends=ends)
    return N(full, u.dirs, flat=flat, ends=ends)


def _lift(c: jax.Array, m: int, d: jax.Array, top: bool = False) -> jax.Array:
    """f(u0 + n) one direction at a time from d = f^(j)(u0), j = 0..m: with u_i the part
    of u on the first i directions and v_i the coefficient of direction i there,
    f^(j)(u_i+1) = f^(j)(u_i) + e_i f^(j+1)(u_i) v_i. With ``top``, the top coefficient
    alone: levels j >= 1 only, and the last direction's convolution one dot product."""
    c = held(c) if m > SMALL else c
    g = (lax.slice_in_dim(d, 1, m + 1) if top else d).reshape(-1, 1)
    for i in range(m - 1 if top else m):
        v = lax.slice(c.reshape(2 ** i, 2, 2 ** (m - 1 - i)), (0, 1, 0), (2 ** i, 2, 1))
        rows = g.shape[0] - 1
        new = conv(lax.slice_in_dim(g, 1, rows + 1), v.reshape(1, -1), i)
        g = lax.concatenate([lax.slice_in_dim(g, 0, rows)[..., None], new[..., None]],
                            2).reshape(rows, -1)
    if not top:
        return g.reshape(-1)
    v = lax.slice(c.reshape(2 ** (m - 1), 2), (0, 1), (2 ** (m - 1), 2)).reshape(-1)
    return lax.reduce_sum(g.reshape(-1) * lax.rev(v, (0,)), (0,))


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
        return _each(lambda a: _times(a, -1.0, a.affine, a.moves, a.flat)
                     if isinstance(a, N) else -a, v)

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
