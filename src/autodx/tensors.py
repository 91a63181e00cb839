"""Derivative tensors of orders 1..d in n coordinates by univariate Taylor series.

Nested ``jax.jacfwd`` traces about 3^d times the expression (sin(x*y) at order 10:
half a minute before the first number). Instead, one Taylor propagation of order d
along each of the C(n + d - 1, d) directions j with |j| = d (multi-indices: whole
numbers j_l >= 0 adding up to d), vmapped as one program whose size does not grow
with d, gives every mixed partial of every order p <= d as a fixed linear combination
of the directions' p-th normalised Taylor coefficients c_p(j) (Griewank, Utke and
Walther, "Evaluating higher derivative tensors by forward propagation of univariate
Taylor series", Math. Comp. 69 (2000)): for a multi-index i with |i| = p,

    D^i f(x0) = sum_{|j| = d} gamma_ij c_p(j),
    gamma_ij  = sum_{0 < k <= i} (-1)^(p - |k|) binom(i, k) binom(d k / |k|, j) (|k| / d)^p

(multi-index binomials are products over coordinates; binom(d k / |k|, j) has a
fractional top). c_p(j) is the normalised coefficient, (d^p/dt^p f(x0 + t j) at 0) / p!,
not the derivative itself (checked on exact polynomials in tests/test_tensors.py).
Gamma is computed exactly in integers (in float64 where that would take long, at
orders where float64 is exact to a few ulps) and cached per (n, d); each full tensor
is filled from its distinct entries by one gather, so it is exactly symmetric.

Accuracy, against sympy at 40 digits, relative to each tensor's largest entry: 1e-14
to order 8, 5e-13 at order 12 (sin(x*y), sin(prod(z)), exp/log/division mixes), 4e-10
at order 19 (the directions' coefficients grow as d^p while the entries do not).
Nested jacfwd is exact to 1e-16, and as cheap up to order 3: it is kept there
(:func:`interpolate`).

    >>> from autodx import parse as P
    >>> from autodx.coords import Coords
    >>> run = derivatives(P.parse("x*y**2"), {}, Coords(("x", "y"), (None, None)), 2)
    >>> value, (g, h) = run({"x": 1.0, "y": 2.0})
    >>> float(value), g.tolist(), h.tolist()
    (4.0, [4.0, 4.0], [[0.0, 4.0], [4.0, 2.0]])
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from itertools import product
from typing import Callable

import numpy as np

from .errors import InputError

MAX_TENSOR_ENTRIES = 1_000_000  # engine.MAX_TENSOR_ENTRIES (engine imports jax)
# directions x order^2 x nodes (x the longest vector moved): the arithmetic of one
# row's Taylor propagations (measured: 20 ms a row at 4.6e7)
MAX_DIRECTION_WORK = 50_000_000
# nodes x (order + 3): tracing and compiling the vmapped Taylor program, about 0.65 ms
# each on this loaded machine (a 1,006-node sum of products over 3 coordinates, --data:
# 5.3 s at order 4, 10.9 s at order 12; one --at point compiles quicker, 4.8 s at 12)
MAX_PROGRAM_WORK = 12_000
MAX_GAMMA_ENTRIES = 2_000_000  # distinct entries of orders 1..d x directions
# gamma in exact integers (about 0.3 s at the limit, see _exact_work), past it in
# float64 (about 0.4 s at the limit, see _float_work), measured on this loaded machine
MAX_EXACT_WORK = 10_000_000
MAX_FLOAT_WORK = 1_100_000_000
# nested jacfwd: nodes x 3^order, about 0.3 ms each on this machine (see nested_cost)
MAX_NESTED_WORK = 20_000
NESTED_UP_TO = 3  # orders where nested jacfwd is as cheap, and exact: kept there


# ---------------------------------------------------------------- the plan per (n, d)

@dataclass(frozen=True)
class Plan:
    """What the interpolation of orders 1..d over n coordinates needs, known before
    any expression: the directions (rows, |j| = d); per order p the distinct entries
    (rows: multi-indices i, |i| = p), the matrix gamma (distinct entries x directions)
    and the index of each full tensor's entries into its distinct ones (shape (n,) * p)."""

    directions: np.ndarray
    entries: list[np.ndarray]
    gammas: list[np.ndarray]
    indices: list[np.ndarray]


@functools.lru_cache(maxsize=16)
def plan(n: int, order: int) -> Plan:
    """The :class:`Plan` of orders 1..order over n coordinates (cached).

    Example:
        >>> p = plan(2, 2)
        >>> p.directions.tolist()
        [[2, 0], [1, 1], [0, 2]]
        >>> p.indices[1].tolist()  # d2f/dx dy is the second distinct entry of order 2
        [[0, 1], [1, 2]]
    """
    check(n, order, 1)
    counts, steps = _multisets(n, order)
    directions = _compositions(n, order)
    gammas = _gamma(counts, directions, order)
    indices = [np.arange(n, dtype=np.int32)]
    for step in steps:
        indices.append(step[indices[-1][..., None], np.arange(n)])
    return Plan(directions, counts, gammas, indices)


def _compositions(n: int, d: int) -> np.ndarray:
    """Every multi-index of n entries adding up to d, largest first entry first."""
    if n == 1:
        return np.array([[d]], dtype=np.int64)
    return np.vstack([np.hstack([np.full((len(rest), 1), a, np.int64), rest])
                      for a in range(d, -1, -1) for rest in [_compositions(n - 1, d - a)]])


def _multisets(n: int, order: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The distinct entries of each order p, as count vectors (p = 1: the unit
    vectors), and the steps between orders: ``steps[p - 2][r, l]`` is the entry of
    order p that adds coordinate l to entry r of order p - 1."""
    counts = [np.eye(n, dtype=np.int64)]
    steps = []
    for _ in range(order - 1):
        below = counts[-1]
        top = [int(np.flatnonzero(c).max()) for c in below]  # sorted tuples: no repeats
        grown = np.vstack([c + np.eye(n, dtype=np.int64)[l] for c, t in zip(below, top)
                           for l in range(t, n)])
        rank = {tuple(c): r for r, c in enumerate(grown.tolist())}
        step = np.array([[rank[tuple(c + np.eye(n, dtype=np.int64)[l])] for l in range(n)]
                         for c in below], dtype=np.int32)
        counts.append(grown)
        steps.append(step)
    return counts, steps


def _gamma(counts: list[np.ndarray], directions: np.ndarray, d: int) -> list[np.ndarray]:
    """gamma per order p: rows ``counts[p - 1]``, columns ``directions``, as float64."""
    n = directions.shape[1]
    if _exact_work(n, d) <= MAX_EXACT_WORK:
        return _gamma_exact(counts, directions, d)
    return _gamma_float(counts, directions, d)


def _exact_work(n: int, d: int) -> int:
    """Integer operations of :func:`_gamma_exact`: a row of directions for each pair
    0 < k <= i with |i| <= d (multi-indices of 2n entries adding up to at most d), and
    for each k and coordinate (the products of binomials)."""
    rows = math.comb(n + d, d) - 1
    return (math.comb(2 * n + d, d) + rows * n) * math.comb(n + d - 1, d)


def _float_work(n: int, d: int) -> int:
    """Float operations of :func:`_gamma_float`: rows x rows x directions in the
    matrix product, and rows x rows x n in arrays built element by element (counted 30
    times: numpy's passes over them cost about that next to BLAS)."""
    rows = math.comb(n + d, d) - 1
    return rows * rows * (math.comb(n + d - 1, d) + 30 * n)


def _gamma_exact(counts, directions, d):
    """gamma_ij d^p j! L, L = lcm(1..d)^d, is a whole number: the binomial with a
    fractional top is prod_{q < j_l} (d k_l - q |k|) / (|k|^{j_l} j_l!), and |k|^d
    divides L. Summed in Python integers (numpy object arrays), divided once, rounded
    correctly (int / int)."""
    n = directions.shape[1]
    ks = np.vstack(counts)
    sizes = ks.sum(1)
    lcm = math.lcm(*range(1, d + 1)) ** d
    falling = np.empty(ks.shape + (d + 1,), dtype=object)  # prod_{q < m}(d k_l - q |k|)
    falling[..., 0] = 1
    for q in range(d):
        falling[..., q + 1] = falling[..., q] * (d * ks - q * sizes[:, None]).astype(object)
    numer = np.array([lcm // int(s) ** d for s in sizes], dtype=object)[:, None] \
        * np.ones((1, len(directions)), dtype=object)
    for l in range(n):
        numer = numer * falling[:, l, :][:, directions[:, l]]
    row = {tuple(k): r for r, k in enumerate(ks.tolist())}
    j_fact = np.array([math.prod(math.factorial(v) for v in j)
                       for j in directions.tolist()], dtype=object)
    out = []
    for p, block in enumerate(counts, start=1):
        sums = np.empty((len(block), len(directions)), dtype=object)
        for r, i in enumerate(block.tolist()):
            acc = 0
            for k in product(*(range(v + 1) for v in i)):
                size = sum(k)
                if size:
                    c = math.prod(math.comb(a, b) for a, b in zip(i, k)) * size ** p
                    acc = acc + (c if (p - size) % 2 == 0 else -c) * numer[row[k]]
            sums[r] = acc
        out.append((sums / (j_fact * (d ** p * lcm))).astype(np.float64))
    return out


def _gamma_float(counts, directions, d):
    """The same sum in float64, as a matrix product: for the sizes that reach it (many
    coordinates, so order at most 9 within MAX_TENSOR_ENTRIES) it agrees with the
    exact one to a few ulps of gamma's largest entry."""
    ks = np.vstack(counts).astype(np.int64)
    sizes = ks.sum(1)
    top = d * ks / sizes[:, None]
    table = np.ones(ks.shape + (d + 1,))  # binom(d k_l / |k|, m)
    for q in range(d):
        table[..., q + 1] = table[..., q] * (top - q) / (q + 1)
    b = np.ones((len(ks), len(directions)))
    for l in range(ks.shape[1]):
        b *= table[:, l, :][:, directions[:, l]]
    pascal = np.array([[math.comb(a, c) for c in range(d + 1)] for a in range(d + 1)], float)
    out, within = [], 0
    for p, block in enumerate(counts, start=1):
        within += len(block)  # the k with |k| <= p come first
        k, size = ks[None, :within, :], sizes[:within]
        below = np.all(k <= block[:, None, :], axis=2)
        binom = np.prod(pascal[block[:, None, :], k], axis=2)
        sign = np.where((p - size) % 2 == 0, 1.0, -1.0)
        a = np.where(below, binom * sign * (size / d) ** p, 0.0)
        out.append(a @ b[:within])
    return out


# ---------------------------------------------------------------- costs

def check(n: int, order: int, size: int, length: int = 1) -> None:
    """Raise ValueError, naming the limit, when interpolation over n coordinates at
    ``order`` is too costly for an expression of ``size`` nodes over vectors of at most
    ``length`` entries: the tensor entries, the program (nodes x (order + 3)), the
    directions' work (directions x order^2 x nodes x length, a point), or gamma (its
    entries, and the work of computing it).

    Example:
        >>> check(3, 12, 5)
        >>> check(3, 12, 5, length=1000)  # a vector of 1,000 entries moves
        Traceback (most recent call last):
        ...
        ValueError: the order-12 derivative tensors over 3 coordinates need 91 Taylor directions: 91 x 12^2 x 5 nodes x 1,000 entries = 6.6e+07 operations a point, ...
    """
    _check_entries(n, order)
    program = max(size, 1) * (order + 3)
    if program > MAX_PROGRAM_WORK:
        raise ValueError(f"the order-{order} derivative tensors of an expression of "
                         f"{size:,} nodes by Taylor interpolation cost about {size:,} x "
                         f"({order} + 3) = {program:,} to compile, over the limit of "
                         f"{MAX_PROGRAM_WORK:,}")
    directions = math.comb(n + order - 1, order)
    work = directions * order ** 2 * max(size, 1) * max(length, 1)
    if work > MAX_DIRECTION_WORK:
        each = f"{size:,} nodes" + (f" x {length:,} entries" if length > 1 else "")
        raise ValueError(f"the order-{order} derivative tensors over {n} coordinates need "
                         f"{directions:,} Taylor directions: {directions:,} x {order}^2 x "
                         f"{each} = {work:.1e} operations a point, over the limit of "
                         f"{MAX_DIRECTION_WORK:.0e}")
    entries = (math.comb(n + order, order) - 1) * directions
    if entries > MAX_GAMMA_ENTRIES:
        raise ValueError(f"the order-{order} derivative tensors over {n} coordinates "
                         f"interpolate from a {entries:,}-entry matrix, over the limit of "
                         f"{MAX_GAMMA_ENTRIES:,}")
    if _exact_work(n, order) > MAX_EXACT_WORK and _float_work(n, order) > MAX_FLOAT_WORK:
        raise ValueError(f"the order-{order} derivative tensors over {n} coordinates "
                         f"need {_float_work(n, order):.1e} operations to set up, over the "
                         f"limit of {MAX_FLOAT_WORK:.0e}")


def _check_entries(n: int, order: int) -> None:
    entries = n ** order
    if entries > MAX_TENSOR_ENTRIES:
        raise ValueError(f"the order-{order} derivative tensor over {n} coordinates has "
                         f"{entries:,} entries (the limit is {MAX_TENSOR_ENTRIES:,})")


def nested_cost(order: int, size: int) -> int:
    """What nested ``jacfwd`` (order - 1 of them over ``grad``) costs to trace and
    compile: about nodes x 3^order, whatever the number of coordinates (each level
    differentiates every operation of the one below). Calibrated on this 2-core
    machine, loaded, empty cache: sin(x*y) (4 nodes) 4.4 s at order 8 (26,244), 9.9 s
    at 9 (78,732), 26.5 s at 10; a sum of 20 sines (179 nodes) 2.1 s at order 3
    (4,833), 4.5 s at 4 (14,499), 14.6 s at 5 (43,497); sin(x*y*z[0]) with z of 3
    entries (6 nodes) 2.1 s at order 6 (4,374), 11.3 s at 8 (39,366). A vector
    reduction is dearer than its one node says: sin(prod(z)) (3 nodes) 8.6 s at order 7
    (6,561).

    Example:
        >>> nested_cost(8, 4)
        26244
    """
    return max(size, 1) * 3 ** order


def check_nested(n: int, order: int, size: int) -> None:
    """Raise ValueError, naming the limit, when nested jacfwd costs too much: to trace
    and compile (:func:`nested_cost`, past order 1, which is one ``grad``), or to run
    (engine.check_tensor_size: entries x 2^order x nodes)."""
    from .engine import check_tensor_size

    check_tensor_size(n, order, size)
    cost = nested_cost(order, size)
    if order > 1 and cost > MAX_NESTED_WORK:
        raise ValueError(f"the order-{order} derivative tensors over {n} coordinates by "
                         f"nested forward mode cost about {size:,} nodes x 3^{order} = "
                         f"{cost:,} operations, over the limit of {MAX_NESTED_WORK:,}")


# The highest --order whose interpolated tensors keep about 12 digits. Past it the
# directions' coefficients outgrow the entries at every order p of the run: sin(x*y) at
# x=0.5, y=2 by --order 19 is 4e-10 off at p = 19 and 8e-12 at p = 12 (5e-13 by --order
# 12), exp(x)/(1+y**2) and log(1+x*x+y)*cos(y) 1e-11 and 3e-12 (scripts of 2026-12-06).
ACCURATE_ORDER = 12


def accuracy_note(n: int, order: int, precision: int = 64) -> str | None:
    """The warning of a grad over ``n`` >= 2 coordinates past ACCURATE_ORDER (which only
    interpolation reaches: nested jacfwd stops near order 9), else None. At float32
    the tensors were measured to order 6 only (1e-4 of the largest entry)."""
    top = ACCURATE_ORDER if precision == 64 else 6
    if n < 2 or order <= top:
        return None
    measured = ("measured against sympy, entries were off by up to about 4e-10 of their "
                "tensor's largest entry at --order 19 (5e-13 at 12)" if precision == 64 else
                "at --precision 32 they were measured to order 6 only (1e-4 of their "
                "tensor's largest entry): use --precision 64")
    return (f"--order {order} over {n} coordinates: the tensors are interpolated from "
            f"Taylor coefficients along {math.comb(order + n - 1, order):,} directions, "
            f"which loses digits past order {top}: {measured}")


def interpolate(n: int, order: int, size: int, work: int = 0) -> bool:
    """Whether grad takes interpolation (True) or nested jacfwd (False); raises
    InputError, naming the limit, when neither is within its limits.

    Up to order NESTED_UP_TO nested jacfwd is as cheap (measured: 0.15 s against 0.31 s
    for sin(x*y) at order 3, 0.23 s against 0.26 s at order 4) and exact: it is kept
    there while it is within its limits. An expression whose Taylor-mode recurrences
    take more than a few seconds to compile (``work`` over limits.MAX_TAYLOR_WORK) does
    not interpolate.

    Example:
        >>> interpolate(2, 3, 4), interpolate(2, 12, 4)
        (False, True)
    """
    from .limits import MAX_TAYLOR_WORK

    try:
        check_nested(n, order, size)
        nested = None
    except ValueError as e:
        nested = e
    if order <= NESTED_UP_TO and nested is None:
        return False
    if work > MAX_TAYLOR_WORK:
        if nested is None:
            return False
        raise _refusal(order, f"{nested} (and its Taylor-mode recurrences, {work:,} units "
                               f"of compile time, are over the limit of {MAX_TAYLOR_WORK} "
                               "for interpolation)")
    try:
        check(n, order, size)
        return True
    except ValueError as e:
        if nested is None:
            return False
        raise _refusal(order, e if order > NESTED_UP_TO else nested) from None


def _refusal(order: int, e: Exception | str) -> InputError:
    return InputError(f"--order {order}: {e}; use jvp-partial for single entries, --wrt "
                      "to differentiate fewer variables, or a lower --order")


# ---------------------------------------------------------------- the program

def derivatives(tree, helpers: dict, coords, order: int) -> Callable:
    """``run(env) -> (value, [tensor_1, ..., tensor_order])``: the derivative tensors of
    the expression ``tree`` in the coordinates ``coords`` (a :class:`autodx.coords.Coords`)
    at the point ``env``, by interpolation from Taylor series along the directions of
    :func:`plan`, vmapped as one program. Traceable by jit and vmap; raises
    :class:`autodx.taylor.NoRule` while tracing where Taylor mode has no rule.

    Example:
        >>> from autodx import parse as P
        >>> from autodx.coords import Coords
        >>> run = derivatives(P.parse("x**2*y"), {}, Coords(("x", "y"), (None, None)), 3)
        >>> [t.tolist() for t in run({"x": 1.0, "y": 3.0})[1][2:]]
        [[[[0.0, 2.0], [2.0, 0.0]], [[2.0, 0.0], [0.0, 0.0]]]]
    """
    from ._jax import jax
    import jax.numpy as jnp

    from .taylor import coefficients_along

    entries = [coords.entry(i) for i in range(coords.n)]
    p = plan(coords.n, order)

    def run(env):
        dtype = jnp.result_type(*(jnp.asarray(env[name]) for name, _ in entries))
        along = jax.vmap(lambda j: coefficients_along(tree, helpers, env, entries, j, order))
        c = along(jnp.asarray(p.directions, dtype))  # (directions, order + 1)
        tensors = [_combine(jnp.asarray(g, dtype), c[:, k])
                   for k, g in enumerate(p.gammas, start=1)]
        return c[0, 0], [t[jnp.asarray(ix)] for t, ix in zip(tensors, p.indices)]
    return run


def _combine(g, c):
    """g @ c, where an entry that no non-finite coefficient enters stays finite: along
    a direction where f is singular (sqrt(x) + y at x = 0 moving x) the coefficients
    are inf or nan, and 0 x inf would make every entry nan, d/dy too, which nested
    jacfwd gives as 1."""
    import jax.numpy as jnp

    finite = jnp.isfinite(c)
    touched = jnp.abs(g) @ (~finite).astype(c.dtype) > 0
    return jnp.where(touched, g @ c, g @ jnp.where(finite, c, 0))


def derivative_tensors(tree, helpers: dict, coords, order: int, cost, fun: Callable) -> Callable:
    """``run(env) -> (value, [tensor_1, ..., tensor_order])`` for grad: by interpolation
    (:func:`derivatives`) where :func:`interpolate` says so and Taylor mode has a rule,
    else by nested jacfwd of ``fun(x, env)`` (``x`` the flat coordinates). Raises
    InputError where neither is within its limits: before tracing, or while tracing
    (a vector too long for the directions, or Taylor mode without a rule and nested
    jacfwd too costly). ``cost`` is the expression's :class:`autodx.analyze.Cost`."""
    from . import engine
    from .limits import check_modes
    from .taylor import NoRule

    n = coords.n

    def nested_within_limits() -> None:  # its traced size, and what it costs to compile
        try:
            check_nested(n, order, cost.size)
        except ValueError as e:
            raise _refusal(order, e) from None
        check_modes(cost.work, order, f"--order {order}")

    by_taylor = interpolate(n, order, cost.size, cost.weight)
    if not by_taylor:
        nested_within_limits()
    interpolated = derivatives(tree, helpers, coords, order) if by_taylor else None
    nested = engine.tensor_derivatives(fun, order)
    moved = {coords.entry(i)[0] for i in range(n)}

    def run(env):
        if by_taylor:
            try:  # a long vector moves with every direction
                check(n, order, cost.size, max(int(np.size(env[name])) for name in moved))
            except ValueError as e:
                raise _refusal(order, e) from None
            try:
                return interpolated(env)
            except NoRule:  # nested jacfwd, if it is within its limits
                nested_within_limits()
        return nested(coords.flat(env), env)
    return run
