"""The Python API under the CLI: expression text and points in, numbers out.

    >>> import autodx
    >>> autodx.grad("x**3 + 2*x**2 - 3*x + 1", order=3, at=1).derivatives
    {1: 4.0, 2: 10.0, 3: 6.0}
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from . import data, engine, parse as P, taylor
from .compile import compile_tree
from .errors import ExpressionError, InputError

engine.no_rule(taylor.NoRule)

MAX_ORDER = {64: 150, 32: 30}
_DTYPES = {64: np.float64, 32: np.float32}


@dataclass
class Expression:
    """A parsed, checked and compiled expression with its ``--def`` helpers."""

    text: str
    tree: P.Node
    helpers: dict[str, P.Helper]
    info: P.Info
    fun: Callable  # env -> value
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def variables(self) -> list[str]:
        return sorted(self.info.variables)


def expression(text: str, defs: Sequence[str] = ()) -> Expression:
    """Parse and compile ``text`` with helper definitions ``defs``.

    Example:
        >>> expression("dot(x, x) + y").variables
        ['x', 'y']
    """
    helpers: dict[str, P.Helper] = {}
    for d in defs:
        helper = P.parse_def(d)
        if helper.name in helpers:
            raise ExpressionError(f"{helper.name!r} is defined twice", None, f"--def {d!r}")
        helpers[helper.name] = helper
    tree = P.parse(text)
    info = P.analyze(tree, helpers)
    return Expression(text, tree, helpers, info, compile_tree(tree, helpers))


@dataclass
class GradResult:
    """Value and derivatives of orders 1..N at one point.

    ``derivatives[k]`` is a float when one scalar variable is differentiated, else the
    k-th derivative tensor (shape ``(n,) * k``) over ``coordinates``.
    """

    at: dict[str, Any]
    coordinates: list[str]
    value: float
    derivatives: dict[int, Any]


def check_order(order: int, precision: int = 64) -> None:
    """Orders run from 1 to a limit set by the float type (k! must stay finite)."""
    top = MAX_ORDER[precision]
    if not 1 <= order <= top:
        raise InputError(f"--order {order} is out of range: use 1 to {top}"
                         f" (at --precision {precision})")


def check_wrt(expr: Expression, wrt: Sequence[str] | None) -> list[str]:
    """The differentiated variables, sorted; all variables when ``wrt`` is None."""
    if wrt is None:
        return expr.variables
    names = [w.strip() for w in wrt if w.strip()]
    for name in names:
        if name not in expr.info.variables:
            raise InputError(f"--wrt {name}: not a variable of the expression "
                             f"(its variables: {', '.join(expr.variables) or 'none'})")
    if len(set(names)) != len(names):
        raise InputError("--wrt names a variable twice")
    if not names:
        raise InputError("--wrt is empty: name at least one variable")
    return sorted(names)


def points(expr: Expression, ats: Sequence[Any]) -> list[data.Point]:
    """Check every ``at`` (``--at`` text, number, list or dict) against the variables."""
    if not ats:
        if expr.variables:
            raise InputError(f"no point given: add --at, as in --at "
                             f"{data._example(expr.variables)}")
        ats = [{}]
    return [data.check_point(data.as_point(a), expr.variables, expr.info.vectors)
            for a in ats]


def grad(expr: str | Expression, order: int = 1, at: Any = None,
         wrt: Sequence[str] | None = None, defs: Sequence[str] = (),
         precision: int = 64) -> GradResult:
    """Value and derivatives of orders 1..order of a scalar expression at one point.

    Args:
        expr: expression text (or an :class:`Expression`).
        order: highest derivative order.
        at: the point: a number or list for a one-variable expression, a dict
            ``{"x": 1, "v": [1, 2]}``, or ``--at`` text such as ``"x=1,v=[1,2]"``.
        wrt: the variables to differentiate in (default: all).
        defs: helper definitions, ``"L(u) = (u*a - 1)**2"``.
        precision: 64 or 32.

    Returns:
        A :class:`GradResult`.

    Example:
        >>> grad("x*y**2", order=2, at={"x": 1, "y": 2}).derivatives[1].tolist()
        [4.0, 4.0]
    """
    e = expr if isinstance(expr, Expression) else expression(expr, defs)
    return grad_points(e, points(e, [at] if at is not None else []), order, wrt,
                       precision)[0]


def grad_points(expr: Expression, pts: list[data.Point], order: int,
                wrt: Sequence[str] | None, precision: int = 64) -> list[GradResult]:
    """:func:`grad` at several checked points, sharing one compiled program per shape."""
    check_order(order, precision)
    names = check_wrt(expr, wrt)
    return [_grad_one(expr, _cast(p, precision), order, names) for p in pts]


def _cast(point: data.Point, precision: int) -> data.Point:
    return {k: v.astype(_DTYPES[precision]) for k, v in point.items()}


def _grad_one(expr: Expression, point: data.Point, order: int, names: list[str]) -> GradResult:
    fixed = {k: v for k, v in point.items() if k not in names}
    coords = data.coordinates(point, names)
    at = {k: (v.item() if v.ndim == 0 else v.tolist()) for k, v in point.items()}
    if len(names) == 1 and point[names[0]].ndim == 0:
        run = _scalar_program(expr, names[0], order)
        out = np.asarray(run(point[names[0]], fixed))
        return GradResult(at, coords, float(out[0]),
                          {k: float(out[k]) for k in range(1, order + 1)})
    run, x = _tensor_program(expr, point, names, order)
    value, tensors = run(x, fixed)
    return GradResult(at, coords, float(value),
                      {k + 1: np.asarray(t) for k, t in enumerate(tensors)})


def _check_scalar(expr: Expression, fun: Callable, *args) -> None:
    shape = engine.value_shape(fun, *args)
    if shape != ():
        raise ExpressionError(f"the expression is a vector of length {shape[0]}; this "
                              "command needs a scalar (wrap it in sum(...) or index it)")


def _scalar_program(expr: Expression, name: str, order: int) -> Callable:
    key = ("scalar", name, order)
    if key not in expr._cache:
        def fun(x, fixed):
            return expr.fun({**fixed, name: x})

        def series(x, k, fixed):
            return taylor.taylor_coefficients(expr.tree, expr.helpers, {**fixed, name: x},
                                              name, k)
        expr._cache[key] = (fun, engine.scalar_derivatives(fun, order, series))
    fun, run = expr._cache[key]

    def checked(x, fixed):
        _check_scalar(expr, fun, x, fixed)
        return run(x, fixed)
    return checked


def _tensor_program(expr: Expression, point: data.Point, names: list[str], order: int):
    sizes = tuple(int(point[n].size) if point[n].ndim else 0 for n in names)
    n = sum(max(s, 1) for s in sizes)
    try:
        engine.check_tensor_size(n, order)
    except ValueError as e:
        raise InputError(f"--order {order}: {e}; use jvp-partial for single entries, or "
                         "--wrt to differentiate fewer variables") from None
    key = ("tensor", tuple(names), sizes, order)
    if key not in expr._cache:
        def fun(x, fixed):
            env, start = dict(fixed), 0
            for name, size in zip(names, sizes):
                env[name] = x[start] if size == 0 else x[start:start + size]
                start += max(size, 1)
            return expr.fun(env)
        expr._cache[key] = (fun, engine.tensor_derivatives(fun, order))
    fun, run = expr._cache[key]
    x = np.concatenate([np.atleast_1d(point[k]) for k in names])
    fixed = {k: v for k, v in point.items() if k not in names}
    _check_scalar(expr, fun, x, fixed)
    return run, x
