"""Derivatives of functions, the JAX way: jit, vmap, Taylor mode.

The engine knows nothing of expressions, sympy, typer or rich: it takes plain JAX
functions, so it can be tested with ``jnp`` lambdas. Every function here returns a
jit-compiled callable, built once and reused for every point of the same shape.
"""
from __future__ import annotations

import math
from typing import Callable

import jax.numpy as jnp
from jax.experimental import jet

from ._jax import jax

MAX_TENSOR_ENTRIES = 1_000_000
MAX_NESTED_ORDER = 10

# What a missing Taylor rule looks like while tracing: jet's table lookup (KeyError),
# jet's NotImplementedError, or the tree evaluator's NoRule (a subclass of Exception
# registered by the caller through ``no_rule``).
_FALLBACK_ERRORS: tuple[type[BaseException], ...] = (NotImplementedError, KeyError)


def scalar_derivatives(fun: Callable, order: int, series: Callable | None = None) -> Callable:
    """Value and derivatives 1..order of a scalar function of one scalar, at any point.

    Taylor mode: ``series(x, order, *args)`` (normalised Taylor coefficients) when given,
    else ``jax.experimental.jet``; where neither has a rule, nested forward mode, which
    is exact but exponential in the order, so limited to order 10.

    Args:
        fun: ``fun(x, *args) -> scalar``, differentiated in the scalar ``x``.
        order: the highest derivative, >= 1.
        series: optional ``series(x, order, *args) -> coefficients[0..order]``.

    Returns:
        A jitted ``f(x, *args) -> array [f, f', ..., f^(order)]``.

    Example:
        >>> f = scalar_derivatives(lambda x: x**3, 3)
        >>> [float(v) for v in f(2.0)]
        [8.0, 12.0, 12.0, 6.0]
    """
    factorials = jnp.asarray([math.factorial(k) for k in range(order + 1)], jnp.float64)

    def by_series(x, *args):
        c = series(x, order, *args)
        return c * factorials.astype(c.dtype)

    def by_jet(x, *args):
        unit = (jnp.ones_like(x),) + (jnp.zeros_like(x),) * (order - 1)
        value, terms = jet.jet(lambda t: fun(t, *args), (x,), (unit,))
        return jnp.stack([value] + list(terms))

    def by_nesting(x, *args):
        if order > MAX_NESTED_ORDER:
            raise NotImplementedError(
                f"order {order} needs Taylor mode, which this expression does not support "
                f"(the limit without it is {MAX_NESTED_ORDER})")
        return jnp.stack(_nested(lambda t: fun(t, *args), order)(x))

    candidates = ([by_series] if series is not None else []) + [by_jet, by_nesting]
    return _first_that_traces(candidates)


def _nested(f: Callable, n: int) -> Callable:
    """x -> [f(x), f'(x), ..., f^(n)(x)] by n nested jvps (the fallback path)."""
    if n == 0:
        return lambda x: [f(x)]
    lower = _nested(f, n - 1)

    def g(x):
        primal, tangent = jax.jvp(lower, (x,), (jnp.ones_like(x),))
        return [primal[0]] + list(tangent)
    return g


def _first_that_traces(candidates: list[Callable]) -> Callable:
    """A jitted function that uses the first candidate whose tracing succeeds, per shape."""
    chosen: dict = {}

    def run(*args):
        leaves, structure = jax.tree_util.tree_flatten(args)
        key = (structure, tuple((jnp.shape(a), jnp.result_type(a)) for a in leaves))
        if key in chosen:
            return chosen[key](*args)
        last: BaseException | None = None
        for candidate in candidates:
            compiled = jax.jit(candidate)
            try:
                compiled.lower(*args)
            except _FALLBACK_ERRORS as e:
                last = e
                continue
            chosen[key] = compiled
            return compiled(*args)
        raise last  # type: ignore[misc]
    return run


def no_rule(error: type[BaseException]) -> None:
    """Register an exception type that means "no Taylor rule here: try the next path"."""
    global _FALLBACK_ERRORS
    if error not in _FALLBACK_ERRORS:
        _FALLBACK_ERRORS = _FALLBACK_ERRORS + (error,)


def tensor_derivatives(fun: Callable, order: int) -> Callable:
    """Value, gradient and higher derivative tensors of a scalar function of a vector.

    Order 1 is ``jax.grad``; each higher order is ``jax.jacfwd`` of the one below, so
    the k-th tensor has shape (n,) * k.

    Returns:
        A jitted ``f(x, *args) -> (value, [grad, hessian, ...])``.

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
    return jax.jit(run)


def check_tensor_size(n: int, order: int) -> None:
    """Raise ValueError when the order-th tensor over n coordinates is too large to form."""
    if n ** order > MAX_TENSOR_ENTRIES:
        raise ValueError(f"the order-{order} derivative tensor over {n} coordinates has "
                         f"{n ** order:,} entries (the limit is {MAX_TENSOR_ENTRIES:,})")


def value_shape(fun: Callable, *args) -> tuple[int, ...]:
    """The shape of ``fun(*args)``, found by tracing only (nothing is computed)."""
    return jax.eval_shape(fun, *args).shape

