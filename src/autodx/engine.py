"""Derivatives of functions, the JAX way: Taylor mode, forward and reverse mode, vmap.

The engine knows nothing of expressions, sympy, typer or rich: it takes plain JAX
functions, so it can be tested with ``jnp`` lambdas. Each builder returns a plain
function, composable with further transforms; :func:`vectorize` is the one place that
applies ``jit(vmap(...))`` to it.
"""
from __future__ import annotations

import math
import time
from typing import Callable, Sequence

import jax.numpy as jnp

from ._jax import jax

MAX_TENSOR_ENTRIES = 1_000_000
MAX_NESTED_ORDER = 10
MAX_TENSOR_WORK = 10 ** 9


class OrderTooHigh(ValueError):
    """No Taylor rule applies and the order is past what nested forward mode can do."""


# What a missing Taylor rule looks like while tracing: jet's table lookup (KeyError),
# jet's NotImplementedError, or an error type registered with ``no_rule``.
_FALLBACK_ERRORS: tuple[type[BaseException], ...] = (NotImplementedError, KeyError)


def no_rule(error: type[BaseException]) -> None:
    """Register an exception type that means "no Taylor rule here: try the next path"."""
    global _FALLBACK_ERRORS
    if error not in _FALLBACK_ERRORS:
        _FALLBACK_ERRORS = _FALLBACK_ERRORS + (error,)


def scalar_derivatives(fun: Callable, order: int, series: Callable | None = None) -> Callable:
    """Value and derivatives 1..order of a scalar function of one scalar.

    Taylor mode: ``series(x, order, *args)`` (normalised Taylor coefficients) when given,
    else ``jax.experimental.jet``; where neither has a rule, nested forward mode, which
    is exact but exponential in the order, so limited to order 10. The choice is made
    while tracing: a path that fails leaves only dead code behind.

    Args:
        fun: ``fun(x, *args) -> scalar``, differentiated in the scalar ``x``.
        order: the highest derivative, >= 1.
        series: optional ``series(x, order, *args) -> coefficients[0..order]``.

    Returns:
        ``f(x, *args) -> array [f, f', ..., f^(order)]``.

    Example:
        >>> f = scalar_derivatives(lambda x: x**3, 3)  # no series given: by jet
        >>> [round(float(v), 9) for v in f(2.0)]
        [8.0, 12.0, 12.0, 6.0]
    """
    factorials = [float(math.factorial(k)) for k in range(order + 1)]

    def by_series(x, *args):
        c = series(x, order, *args)
        return c * jnp.asarray(factorials, c.dtype)

    def by_jet(x, *args):
        from jax.experimental import jet  # only for expressions the tree cannot expand

        unit = (jnp.ones_like(x),) + (jnp.zeros_like(x),) * (order - 1)
        value, terms = jet.jet(lambda t: fun(t, *args), (x,), (unit,))
        return jnp.stack([value] + list(terms))

    def by_nesting(x, *args):
        if order > MAX_NESTED_ORDER:
            raise OrderTooHigh(f"order {order} needs Taylor mode, which this expression "
                               f"does not support (diff() inside it); the limit without "
                               f"it is {MAX_NESTED_ORDER}")
        return jnp.stack(_nested(lambda t: fun(t, *args), order)(x))

    candidates = ([by_series] if series is not None else []) + [by_jet, by_nesting]

    def run(x, *args):
        for candidate in candidates[:-1]:
            try:
                return candidate(x, *args)
            except _FALLBACK_ERRORS:
                continue
        return candidates[-1](x, *args)
    return run


def _nested(f: Callable, n: int) -> Callable:
    """x -> [f(x), f'(x), ..., f^(n)(x)] by n nested jvps (the fallback path)."""
    if n == 0:
        return lambda x: [f(x)]
    lower = _nested(f, n - 1)

    def g(x):
        primal, tangent = jax.jvp(lower, (x,), (jnp.ones_like(x),))
        return [primal[0]] + list(tangent)
    return g


def tensor_derivatives(fun: Callable, order: int) -> Callable:
    """Value, gradient and higher derivative tensors of a scalar function of a vector.

    Order 1 is ``jax.grad``; each higher order is ``jax.jacfwd`` of the one below, so
    the k-th tensor has shape (n,) * k.

    Returns:
        ``f(x, *args) -> (value, [grad, hessian, ...])``.

    Example:
        >>> f = tensor_derivatives(lambda x: x[0] * x[1] ** 2, 2)
        >>> value, (g, h) = f(jnp.array([1.0, 2.0]))
        >>> float(value), g.tolist(), h.tolist()
        (4.0, [4.0, 4.0], [[0.0, 4.0], [4.0, 2.0]])
    """
    def run(x, *args):
        d = jax.grad(fun)
        steps = [d]
        for _ in range(order - 1):
            d = jax.jacfwd(d)
            steps.append(d)
        return fun(x, *args), [step(x, *args) for step in steps]
    return run


def hessian(fun: Callable) -> Callable:
    """``f(x, *args) -> (value, H)``: the Hessian, forward over reverse (``jax.hessian``).

    Example:
        >>> float(hessian(lambda x: jnp.sum(x ** 3))(jnp.array([1.0, 2.0]))[1][1, 1])
        12.0
    """
    def run(x, *args):
        return fun(x, *args), jax.hessian(fun)(x, *args)
    return run


def jacobian(fun: Callable, forward: bool) -> Callable:
    """``f(x, *args) -> (value, J)`` of a vector-valued ``fun``: forward mode (one jvp
    per input, ``jacfwd``) when ``forward``, else reverse mode (one vjp per output,
    ``jacrev``); the caller picks whichever needs fewer passes for the shape.

    Example:
        >>> f = lambda x: jnp.stack([x[0] * x[1], jnp.sin(x[0])])
        >>> jacobian(f, True)(jnp.array([1.0, 2.0]))[1].tolist()
        [[2.0, 1.0], [0.5403023058681398, 0.0]]
    """
    build = jax.jacfwd if forward else jax.jacrev

    def run(x, *args):
        return fun(x, *args), build(fun)(x, *args)
    return run


def hvp(fun: Callable) -> Callable:
    """``f(x, v, *args) -> (value, H v)`` without forming H: a jvp of the gradient.

    Memory and time are a small multiple of one gradient, whatever the dimension.

    Example:
        >>> x, v = jnp.array([1.0, 2.0]), jnp.array([1.0, 0.0])
        >>> hvp(lambda x: x[0] ** 2 * x[1])(x, v)[1].tolist()
        [4.0, 2.0]
    """
    def run(x, v, *args):
        grad = jax.grad(fun)
        return fun(x, *args), jax.jvp(lambda y: grad(y, *args), (x,), (v,))[1]
    return run


def jvp_partial(fun: Callable, indices: Sequence[int]) -> Callable:
    """One mixed partial d^k f / dx_i1 ... dx_ik by k nested jvps with one-hot tangents.

    Never forms a derivative tensor: the cost is 2^k evaluations of f, whatever n is.

    Returns:
        ``f(x, *args) -> (value, partial)``.

    Example:
        >>> f = jvp_partial(lambda x: jnp.prod(x), [0, 2])
        >>> float(f(jnp.array([1.0, 2.0, 3.0]))[1])
        2.0
    """
    def run(x, *args):
        g = lambda y: fun(y, *args)  # noqa: E731
        for i in reversed(indices):
            g = _directional(g, i)
        return fun(x, *args), g(x)
    return run


def _directional(g: Callable, i: int) -> Callable:
    def dg(x):
        return jax.jvp(g, (x,), (jnp.zeros_like(x).at[i].set(1),))[1]
    return dg


def per_example_grad(fun: Callable) -> Callable:
    """``f(params, example) -> gradient in params``, for :func:`vectorize` with
    ``in_axes=(None, 0)``: one jit-compiled vmap of grad, the parameters shared."""
    return jax.grad(fun)


def vectorize(fun: Callable, in_axes) -> Callable:
    """``jit(vmap(fun, in_axes))``: every row of a batch in one compiled program."""
    return jax.jit(jax.vmap(fun, in_axes=in_axes))


def compile_timed(jitted: Callable, *args):
    """Trace, lower and compile ``jitted`` for ``args``, timing each step separately.

    Returns:
        (compiled, {"trace": s, "lower": s, "compile": s}).
    """
    t0 = time.perf_counter()
    traced = jitted.trace(*args)
    t1 = time.perf_counter()
    lowered = traced.lower()
    t2 = time.perf_counter()
    compiled = lowered.compile()
    t3 = time.perf_counter()
    return compiled, {"trace": t1 - t0, "lower": t2 - t1, "compile": t3 - t2}


def check_tensor_size(n: int, order: int, size: int = 1) -> None:
    """Raise ValueError when the order-th tensor over n coordinates is too large to form,
    or too costly: ``jacfwd`` nested order - 1 times over a program of ``size`` operations
    costs about entries * 2^order * size (grad of sin(x*y*z) at order 12: 531,441
    entries, over 100 s)."""
    entries = n ** order
    if entries > MAX_TENSOR_ENTRIES:
        raise ValueError(f"the order-{order} derivative tensor over {n} coordinates has "
                         f"{entries:,} entries (the limit is {MAX_TENSOR_ENTRIES:,})")
    work = entries * 2 ** order * size
    if work > MAX_TENSOR_WORK:
        raise ValueError(f"the order-{order} derivative tensor over {n} coordinates "
                         f"({entries:,} entries) of an expression of {size:,} nodes costs "
                         f"about {work:.1e} operations (entries x 2^order x nodes; the "
                         f"limit is {MAX_TENSOR_WORK:.0e})")

