"""The Python API under the CLI: expression text, points and data in, arrays out.

    >>> import autodx
    >>> autodx.grad("x**3 + 2*x**2 - 3*x + 1", order=3, at=1).derivatives
    {1: 4.0, 2: 10.0, 3: 6.0}

Every command evaluates its rows, the ``--at`` points or the rows of a ``--data`` file,
as one jit-compiled ``vmap`` per chunk of rows (see :mod:`autodx.batch`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from . import batch, data, engine, limits, parse as P, taylor
from .batch import Plan, Rows
from .compile import compile_tree
from .errors import ExpressionError, InputError
from .limits import MAX_ORDER, _short, check_order, resolve_indices  # noqa: F401

engine.no_rule(taylor.NoRule)



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
    tree, helpers, info = P.parse_expression(text, defs)
    return Expression(text, tree, helpers, info, compile_tree(tree, helpers))


def _expr(expr: str | Expression, defs: Sequence[str]) -> Expression:
    return expr if isinstance(expr, Expression) else expression(expr, defs)


# ---------------------------------------------------------------- checks

def check_wrt(expr: Expression, wrt: Sequence[str] | str | None) -> list[str]:
    """The differentiated variables, sorted; all variables when ``wrt`` is None."""
    return limits.check_wrt(expr.variables, wrt)


def plan(expr: Expression, at: Sequence[Any] = (), data_path: str | None = None) -> Plan:
    """The rows to evaluate: the ``at`` points, or the rows of ``data_path`` with
    ``at`` giving the variables the file does not hold."""
    if data_path is None:
        return batch.points_plan(expr.variables, expr.info.vectors, at)
    return batch.data_plan(expr.variables, expr.info.vectors, at, data_path)


# ---------------------------------------------------------------- results

@dataclass
class Output:
    """What a command computed: arrays with one row per point, in input order."""

    command: str
    expression: str
    coordinates: list[str]
    rows: Rows
    results: dict[str, Any]  # name -> array (rows first), or dict of them
    extra: dict[str, Any] = field(default_factory=dict)


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
    e = _expr(expr, defs)
    out = grad_rows(e, plan(e, [at] if at is not None else []), order, wrt, precision)
    d = out.results["derivatives"]
    scalar = out.extra["scalar"]
    return GradResult(out.rows.point(0), out.coordinates, float(out.results["value"][0]),
                      {k: float(v[0]) if scalar else np.asarray(v[0]) for k, v in d.items()})


def grad_rows(expr: Expression, rows: Plan, order: int, wrt=None, precision: int = 64,
              progress=None) -> Output:
    """Value and derivatives 1..order at every row of ``rows``."""
    check_order(order, precision)
    coords = batch.Coords.of(check_wrt(expr, wrt), rows.layout)
    if coords.scalar:
        name = coords.names[0]
        run = engine.scalar_derivatives(lambda x, env: expr.fun({**env, name: x}), order,
                                        _series(expr, name))

        def row(env):
            out = run(env[name], env)
            return {"value": out[0], "derivatives": {k: out[k] for k in range(1, order + 1)}}
    else:
        _check_tensor(coords.n, order)
        run = engine.tensor_derivatives(lambda x, env: expr.fun(coords.merge(x, env)), order)

        def row(env):
            value, tensors = run(coords.flat(env), env)
            return {"value": value, "derivatives": dict(enumerate(tensors, start=1))}
    noisy = coords.scalar and order >= NOISE_ORDER and isinstance(rows, batch.PointsPlan)
    if noisy:
        rows = _shifted(rows, coords.names[0], precision)
    results = _run(expr, rows, row, precision, progress, key=["grad", coords.names, order])
    if noisy:
        results, rows.done = _with_noise(results, rows.done)
    return Output("grad", expr.text, coords.labels, rows.done, results,
                  {"scalar": coords.scalar, "order": order, "precision": precision})


# From this order on, grad at --at points estimates the rounding noise of each derivative.
NOISE_ORDER = 10
# Units in the last place: far enough that every rounding in the program comes out
# differently, near enough (about 1e-13 relative) that the derivatives move by a
# negligible, and linear, amount.
_SHIFTS = (-1999, -997, 997, 1999)


def _shifted(rows: batch.PointsPlan, name: str, precision: int) -> batch.PointsPlan:
    """Each point followed by copies with ``name`` moved by :data:`_SHIFTS` units in the
    last place (of the float type in use): more rows for the same compiled program."""
    dtype = np.float64 if precision == 64 else np.float32
    points = []
    for p in rows.points:
        x = dtype(p[name])
        points.append(p)
        ulp = np.spacing(dtype(max(abs(x), 1)))  # near 0, the ulp of 1
        for shift in _SHIFTS:
            points.append({**p, name: np.asarray(x + dtype(shift) * ulp, dtype=np.float64)})
    return dataclasses.replace(rows, points=points, total=len(points))


def _with_noise(results: dict, done: batch.Rows) -> tuple[dict, batch.Rows]:
    """Split the shifted rows off again (from the results and the evaluated rows), and
    estimate each derivative's relative rounding noise from them: the exact derivatives
    move smoothly with x (a linear trend, which second differences remove); rounding
    errors do not. At high orders the Taylor terms
    can cancel far more digits than float64 holds (d^100/dx^100 of sin(x) e^x at 0.5
    keeps about 2), and this sees it without knowing the exact value."""
    step = len(_SHIFTS) + 1
    rows = batch.Rows(done.count // step,
                      None if done.batched is None else
                      {k: v[::step] for k, v in done.batched.items()}, done.fixed)
    stacked = np.stack([np.asarray(results["value"])] +
                       [np.asarray(d) for d in results["derivatives"].values()], axis=1)
    every = stacked.reshape(-1, step, stacked.shape[1]).astype(np.float64)
    out, near = every[:, 0], every[:, 1:]  # near: in the order of _SHIFTS
    second = np.stack([(near[:, 0] + near[:, 3]) / 2 - out,
                       (near[:, 1] + near[:, 2]) / 2 - out])
    scale = np.maximum(np.abs(near).max(axis=1), np.abs(out))
    with np.errstate(invalid="ignore", divide="ignore"):
        noise = np.abs(second).max(axis=0) / np.maximum(scale, np.finfo(np.float64).tiny)
    return {"value": np.asarray(results["value"])[::step],
            "derivatives": {k: np.asarray(d)[::step] for k, d in results["derivatives"].items()},
            "noise": noise[:, 1:]}, rows


def _series(expr: Expression, name: str) -> Callable:
    def series(x, k, env):
        return taylor.taylor_coefficients(expr.tree, expr.helpers, {**env, name: x}, name, k)
    return series


def _check_tensor(n: int, order: int) -> None:
    try:
        engine.check_tensor_size(n, order)
    except ValueError as e:
        raise InputError(f"--order {order}: {e}; use jvp-partial for single entries, or "
                         "--wrt to differentiate fewer variables") from None


def hessian_rows(expr: Expression, rows: Plan, wrt=None, vector: Any = None,
                 precision: int = 64, progress=None) -> Output:
    """The Hessian at every row, or with ``vector`` the Hessian-vector product."""
    coords = batch.Coords.of(check_wrt(expr, wrt), rows.layout)
    fun = lambda x, env: expr.fun(coords.merge(x, env))  # noqa: E731
    if vector is None:
        _check_tensor(coords.n, 2)
        run = engine.hessian(fun)

        def row(env):
            value, h = run(coords.flat(env), env)
            return {"value": value, "hessian": h}
    else:
        v = np.asarray(vector, dtype=float).reshape(-1)
        if v.shape != (coords.n,):
            raise InputError(f"--hvp: the vector has length {v.size}, but there are "
                             f"{coords.n} coordinates ({_short(coords.labels)})")
        run_hvp = engine.hvp(fun)

        def row(env):
            value, hv = run_hvp(coords.flat(env), env["__hvp__"], env)
            return {"value": value, "hvp": hv}
        rows = rows.with_fixed("__hvp__", v)
    results = _run(expr, rows, row, precision, progress,
                   key=["hessian", coords.names, vector is None])
    return Output("hessian", expr.text, coords.labels, rows.done, results,
                  {} if vector is None else {"hvp": v.tolist()})


def jvp_partial_rows(expr: Expression, rows: Plan, indices: str | Sequence, wrt=None,
                     precision: int = 64, progress=None) -> Output:
    """One mixed partial at every row, by nested jvps with one-hot tangents."""
    coords = batch.Coords.of(check_wrt(expr, wrt), rows.layout)
    idx = resolve_indices(indices, coords.labels)
    run = engine.jvp_partial(lambda x, env: expr.fun(coords.merge(x, env)), idx)

    def row(env):
        value, d = run(coords.flat(env), env)
        return {"f": value, "value": d}
    results = _run(expr, rows, row, precision, progress,
                   key=["jvp-partial", coords.names, idx])
    return Output("jvp-partial", expr.text, coords.labels, rows.done, results,
                  {"indices": idx})


def perex_rows(expr: Expression, rows: Plan, wrt, precision: int = 64, progress=None,
               timing: bool = False, keep_inputs: bool = True) -> Output:
    """Per-example gradients in the parameters ``wrt`` (shared, from ``--at``) for every
    row of the data: one ``jit(vmap(grad, in_axes=(None, 0)))``."""
    if not isinstance(rows, batch.DataPlan):
        raise InputError("perex needs --data FILE: the examples, one per row")
    names = check_wrt(expr, wrt)
    batched = [n for n in names if n not in rows.fixed]
    if batched:
        raise InputError(f"perex: the parameter {batched[0]} must be given by --at (shared "
                         "by every example), not by the data file")
    coords = batch.Coords.of(names, rows.layout)
    grad = engine.per_example_grad(lambda x, env: expr.fun(coords.merge(x, env)))

    def row(env):
        return {"grad": grad(coords.flat(env), env)}
    results = _run(expr, rows, row, precision, progress, keep_inputs, timing,
                   key=["perex", coords.names])
    extra = {"names": names, "layout": {n: rows.layout[n] for n in names}}
    if timing:
        extra["timing"] = results.pop("__timing__")
        extra["timing"].update(batch.time_without_jit(row, rows.done, precision))
    return Output("perex", expr.text, coords.labels, rows.done, results, extra)


def _run(expr: Expression, rows: Plan, row: Callable, precision: int, progress,
         keep_inputs: bool = True, timing: bool = False, key: list | None = None) -> dict:
    """Run ``row`` over ``rows``. ``key`` must name everything ``row`` depends on besides
    the expression and its helpers (the command, the coordinates, the order ...): it
    is what the program cache finds the compiled program by."""
    def checked(env):
        value = expr.fun(env)
        if np.ndim(value) != 0:
            raise ExpressionError(f"the expression is a vector of length {value.shape[0]}; "
                                  "this command needs a scalar (wrap it in sum(...) or "
                                  "index it)")
        return row(env)
    full_key = None if key is None else \
        [expr.text, [h.text for h in expr.helpers.values()], *key]
    try:
        return batch.run(checked, rows, precision, progress, keep_inputs, timing, full_key)
    except engine.OrderTooHigh as e:
        raise InputError(f"--order: {e}") from None


# ---------------------------------------------------------------- more of the Python API

def hessian(expr: str | Expression, at: Any, wrt=None, defs: Sequence[str] = (),
            vector: Any = None, precision: int = 64) -> np.ndarray:
    """The Hessian (or with ``vector`` the Hessian-vector product) at one point.

    Example:
        >>> hessian("dot(x, x)", at=[1, 2]).tolist()
        [[2.0, 0.0], [0.0, 2.0]]
    """
    e = _expr(expr, defs)
    out = hessian_rows(e, plan(e, [at]), wrt, vector, precision)
    return np.asarray(out.results["hvp" if vector is not None else "hessian"][0])


def jvp_partial(expr: str | Expression, indices, at: Any = None, data: str | None = None,
                wrt=None, defs: Sequence[str] = (), precision: int = 64) -> np.ndarray:
    """One mixed partial at a point, or at every row of a data file (an array).

    Example:
        >>> jvp_partial("prod(x)", "0,2", at=[1, 2, 3, 4]).tolist()
        [8.0]
    """
    e = _expr(expr, defs)
    ats = [at] if at is not None else []
    return np.asarray(jvp_partial_rows(e, plan(e, ats, data), indices, wrt,
                                       precision).results["value"])


def perex(expr: str | Expression, wrt, at: Any, data: str, defs: Sequence[str] = (),
          precision: int = 64) -> np.ndarray:
    """Per-example gradients, shape (rows, coordinates), for the rows of ``data``."""
    e = _expr(expr, defs)
    return np.asarray(perex_rows(e, plan(e, [at], data), wrt, precision).results["grad"])
