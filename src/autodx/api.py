"""The Python API under the CLI: expression text, points and data in, arrays out.

    >>> import autodx
    >>> autodx.grad("x**3 + 2*x**2 - 3*x + 1", order=3, at=1).derivatives
    {1: 4.0, 2: 10.0, 3: 6.0}

Each ``*_rows`` function evaluates a command at its rows, the ``--at`` points or the
rows of a ``--data`` file, as one jit-compiled ``vmap`` per chunk of rows (see
:mod:`autodx.batch`), and returns a :class:`autodx.result.Result`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence, overload

import numpy as np
import numpy.typing as npt

from . import batch, data, device, engine, frames, limits, noise, parse as P, partial, taylor
from . import tensors
from .compile import compile_tree, shape_of
from .data import DataPlan, Plan, PointsPlan
from .errors import ExpressionError, InputError
from .frames import Data
from .coords import Coords
from .limits import check_order, resolve_indices
from .result import Command, Result
from .views import GradResult, GradRows

At = Any
"""A point: a number or list (one variable), a dict ``{"x": 1, "v": [1, 2]}``, or
``--at`` text such as ``"x=1,v=[1,2]"``; beside ``data=``, the values every row shares."""
Array = npt.NDArray[np.float64]

engine.no_rule(taylor.NoRule)

Stream = Callable[[Result], None]  # takes each chunk's result as it is computed

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
    if "e" in info.variables:  # e^x, e**(-t): meant Euler's number, most likely
        import warnings

        warnings.warn(f"e is a variable here (column {info.variables['e']}); Euler's number "
                      "is E, as in E**x, or exp(x)", stacklevel=2)
    return Expression(text, tree, helpers, info, compile_tree(tree, helpers))


def _expr(expr: str | Expression, defs: Sequence[str]) -> Expression:
    return expr if isinstance(expr, Expression) else expression(expr, defs)


# ---------------------------------------------------------------- checks

# ---------------------------------------------------------------- running



def check_wrt(expr: Expression, wrt: Sequence[str] | str | None) -> list[str]:
    """The differentiated variables (or entries ``z[1]``) in the order given; every
    variable, in natural name order, when ``wrt`` is None."""
    return limits.check_wrt(expr.variables, wrt)


def plan(expr: Expression, at: Sequence[Any] = (), data_path: Data | None = None) -> Plan:
    """The rows to evaluate: the ``at`` points, or the rows of ``data_path`` (a file, or
    arrays in memory: :mod:`autodx.frames`) with ``at`` giving the variables it lacks."""
    if data_path is None:
        return data.points_plan(expr.variables, expr.info.vectors, at)
    if isinstance(data_path, (str, os.PathLike)):
        return data.data_plan(expr.variables, expr.info.vectors, at, os.fspath(data_path))
    return frames.data_plan(expr.variables, expr.info.vectors, at, data_path)


# ---------------------------------------------------------------- results

@overload
def grad(expr: str | Expression, order: int = ..., at: At = ...,
         wrt: Sequence[str] | str | None = ..., defs: Sequence[str] = ...,
         precision: int = ..., data: None = ...) -> GradResult: ...
@overload
def grad(expr: str | Expression, order: int = ..., at: At = ...,
         wrt: Sequence[str] | str | None = ..., defs: Sequence[str] = ...,
         precision: int = ..., *, data: Data) -> GradRows: ...
def grad(expr: str | Expression, order: int = 1, at: At = None,
         wrt: Sequence[str] | str | None = None, defs: Sequence[str] = (),
         precision: int = 64, data: Data | None = None) -> GradResult | GradRows:
    """Value and derivatives of orders 1..order of a scalar expression, at one point or
    at every row of ``data``.

    Args:
        expr: expression text (or an :class:`Expression`).
        order: highest derivative order.
        at: the point: a number or list for a one-variable expression, a dict
            ``{"x": 1, "v": [1, 2]}``, or ``--at`` text such as ``"x=1,v=[1,2]"``;
            with ``data``, the values every row shares.
        wrt: the variables to differentiate in (default: all).
        defs: helper definitions, ``"L(u) = (u*a - 1)**2"``.
        precision: 64 or 32.
        data: rows of points: a CSV/.npy/.npz path, a dict of arrays, a 2-D array or
            a DataFrame (see :mod:`autodx.frames`).

    Returns:
        A :class:`GradResult` at a point; a :class:`GradRows` (arrays, rows first)
        with ``data``.

    Example:
        >>> grad("x*y**2", order=2, at={"x": 1, "y": 2}).derivatives[1].tolist()
        [4.0, 4.0]
        >>> grad("x**2", data={"x": [1.0, 2.0, 3.0]}).derivatives[1].tolist()
        [2.0, 4.0, 6.0]
    """
    e = _expr(expr, defs)
    ats = [at] if at is not None else []
    out = grad_rows(e, _one_point(plan(e, ats, data), at, data), order, wrt, precision)
    d = out.values["derivatives"]
    if data is not None:
        return GradRows(_inputs(out), out.coordinates, out.values["value"], dict(d))
    return GradResult(out.rows.point(0), out.coordinates, float(out.values["value"][0]),
                      {k: float(v[0]) if out.scalar else np.asarray(v[0]) for k, v in d.items()})


def _one_point(rows: Plan, at: At, data: Data | None) -> Plan:
    """The plan of one point, where no ``data`` is given: a range in ``at`` text makes
    many, and a result of one point would leave all but the first out."""
    if data is None and (rows.total or 1) > 1:
        raise InputError(f"at={at!r} makes {rows.total:,} points, and without data= the "
                         "result is one point's: give the points as data= (a dict of "
                         "arrays, a value per point), or call once per point")
    return rows


def _inputs(out: Result) -> dict[str, Array]:
    """Every variable's values at the rows, rows first (shared values repeated)."""
    rows = out.rows
    shared = {k: np.broadcast_to(v, (rows.count, *np.shape(v)))
              for k, v in rows.fixed.items() if not k.startswith("_")}
    values = {**shared, **(rows.batched or {})}
    return {k: values[k] for k in sorted(values, key=limits.natural)}


@data.closes_plan
def grad_rows(expr: Expression, rows: Plan, order: int, wrt=None, precision: int = 64,
              progress=None, stream: Stream | None = None,
              noise_from: int = noise.NOISE_ORDER) -> Result:
    """Value and derivatives 1..order at every row of ``rows``. With ``stream``, each
    chunk of rows goes to ``stream(result of the chunk)`` as soon as it is computed and
    the result returned has no values (see :func:`_run`). Along one variable at --at
    points, from order ``noise_from`` on, the rounding noise is estimated too
    (:mod:`autodx.noise`; --check asks for it at every order: its tolerance needs it)."""
    check_order(order, precision)
    coords = Coords.of(check_wrt(expr, wrt), rows.layout)
    if coords.scalar:
        row = _scalar_row(expr, coords.names[0], order)
    else:
        run = tensors.derivative_tensors(expr.tree, expr.helpers, coords, order, expr.info.cost,
                                         lambda x, env: expr.fun(coords.merge(x, env)))

        def row(env):
            value, ts = run(env)
            return {"value": value, "derivatives": dict(enumerate(ts, start=1))}
    noisy = coords.scalar and order >= noise_from and isinstance(rows, PointsPlan)
    if noisy:
        rows = noise.shifted(rows, coords.names[0], precision)
    kind = device.Kind.taylor if coords.scalar else device.Kind.tensor
    template = Result(Command.grad, expr.text, coords.labels, None, {}, precision,
                      order=order, scalar=coords.scalar)
    values = _run(expr, rows, row, precision, progress, key=["grad", coords.names, order],
                  work=(kind, order, coords.n), template=template,
                  stream=None if noisy else stream)
    if noisy:  # the noise needs every row: one piece
        values, rows.done = noise.with_noise(values, rows.done)
        if stream is not None:
            stream(replace(template, rows=rows.done, values=values))
            values, rows.done = {}, replace(rows.done, batched=None)
    note = tensors.accuracy_note(coords.n, order, precision)
    return replace(template, rows=rows.done, values=values, notes=[note] if note else [])


def _scalar_row(expr: Expression, name: str, order: int) -> Callable:
    """grad's row along one variable: Taylor mode, within its compile bound; past it, at
    orders 1 and 2, JAX's grad and jacfwd (bounded on their own: 25 nested tanh weigh
    150 units, over Taylor mode's 120, and their gradient takes a second)."""
    cost = expr.info.cost
    fun = lambda x, env: expr.fun({**env, name: x})  # noqa: E731
    if cost.weight > limits.MAX_TAYLOR_WORK and order <= 2:
        limits.check_modes(cost.work, order, f"--order {order}")
        nested = engine.tensor_derivatives(lambda x, env: fun(x[0], env), order)

        def by_modes(env):
            value, ts = nested(env[name][None], env)
            return {"value": value, "derivatives": {k: t.reshape(()) for k, t in
                                                    enumerate(ts, start=1)}}
        return by_modes
    limits.check_taylor(cost.weight, order)
    run = engine.scalar_derivatives(fun, order, _series(expr, name))

    def by_taylor(env):
        out = run(env[name], env)
        return {"value": out[0], "derivatives": {k: out[k] for k in range(1, order + 1)}}
    return by_taylor


def _series(expr: Expression, name: str) -> Callable:
    def series(x, k, env):
        return taylor.taylor_coefficients(expr.tree, expr.helpers, {**env, name: x}, name, k)
    return series


def _check_tensor(n: int, order: int, size: int = 1) -> None:
    try:
        engine.check_tensor_size(n, order, size)
    except ValueError as e:
        raise InputError(f"--order {order}: {e}; use jvp-partial for single entries, "
                         "--wrt to differentiate fewer variables, or a lower --order") from None


@data.closes_plan
def hessian_rows(expr: Expression, rows: Plan, wrt=None, vector: Any = None,
                 precision: int = 64, progress=None, stream: Stream | None = None) -> Result:
    """The Hessian at every row, or with ``vector`` the Hessian-vector product."""
    coords = Coords.of(check_wrt(expr, wrt), rows.layout)
    fun = lambda x, env: expr.fun(coords.merge(x, env))  # noqa: E731
    limits.check_modes(expr.info.cost.work, 2, "hessian")
    if vector is None:
        _check_tensor(coords.n, 2)
        run = engine.hessian(fun)

        def row(env):
            value, h = run(coords.flat(env), env)
            return {"value": value, "hessian": h}
    else:
        v = limits.check_hvp(vector, coords.labels)
        run_hvp = engine.hvp(fun)

        def row(env):
            value, hv = run_hvp(coords.flat(env), env["__hvp__"], env)
            return {"value": value, "hvp": hv}
        rows = rows.with_fixed("__hvp__", v)
    template = Result(Command.hessian, expr.text, coords.labels, None, {}, precision,
                      hvp=None if vector is None else v.tolist())
    values = _run(expr, rows, row, precision, progress,
                  key=["hessian", coords.names, vector is None],
                  work=(device.Kind.hessian if vector is None else device.Kind.linear, 2,
                        coords.n), template=template, stream=stream)
    return replace(template, rows=rows.done, values=values)


@data.closes_plan
def jvp_partial_rows(expr: Expression, rows: Plan, indices: str | Sequence, wrt=None,
                     precision: int = 64, progress=None,
                     stream: Stream | None = None) -> Result:
    """One mixed partial at every row, in nilpotent arithmetic on the tree (see
    :mod:`autodx.partial`), or where that has no rule by nested one-hot jvps."""
    coords = Coords.of(check_wrt(expr, wrt), rows.layout)
    idx = resolve_indices(indices, coords.labels)
    directions = [coords.entry(i) for i in idx]
    nested = engine.jvp_partial(lambda x, env: expr.fun(coords.merge(x, env)), idx)

    what = f"jvp-partial with {len(idx)} ind{'ex' if len(idx) == 1 else 'ices'}"

    def run(env):
        try:  # nilpotent arithmetic on the tree: work 3^k at most, program linear in k
            limits.check_partial(expr.info.cost.weight, len(idx), what)
            return partial.mixed_partial(expr.tree, expr.helpers, env, directions)
        except taylor.NoRule:  # nested jvps: 2^k evaluations, a program 2^k long
            limits.check_nested_partial(len(idx), expr.info.cost.size)
            limits.check_modes(expr.info.cost.work, len(idx), what)
            return nested(coords.flat(env), env)

    def row(env):
        value, d = run(env)
        return {"value": value, "partial": d}
    template = Result(Command.jvp_partial, expr.text, coords.labels, None, {}, precision,
                      indices=idx)
    values = _run(expr, rows, row, precision, progress,
                  key=["jvp-partial", coords.names, idx],
                  work=(device.Kind.partial, len(idx), coords.n), template=template,
                  stream=stream)
    return replace(template, rows=rows.done, values=values)


@data.closes_plan
def perex_rows(expr: Expression, rows: Plan, wrt, precision: int = 64, progress=None,
               timing: bool = False, keep_inputs: bool = True,
               stream: Stream | None = None) -> Result:
    """Per-example gradients in the parameters ``wrt`` (shared, from ``--at``) for every
    row of the data: one ``jit(vmap(grad, in_axes=(None, 0)))``."""
    if not isinstance(rows, DataPlan):
        raise InputError("perex needs --data FILE: the examples, one per row")
    names = check_wrt(expr, wrt)
    entries = [n for n in names if "[" in n]
    if entries:
        raise InputError(f"perex --wrt {entries[0]}: name whole parameters (the gradient "
                         "of each comes out whole)")
    batched = [n for n in names if n not in rows.fixed]
    if batched:
        raise InputError(f"perex: the parameter {batched[0]} must be given by --at (shared "
                         "by every example), not by the data file")
    coords = Coords.of(names, rows.layout)
    limits.check_modes(expr.info.cost.work, 1, "perex")
    grad = engine.per_example_grad(lambda x, env: expr.fun(coords.merge(x, env)))

    def row(env):
        return {"grad": grad(coords.flat(env), env)}
    template = Result(Command.perex, expr.text, coords.labels, None, {}, precision,
                      params={n: rows.layout[n] for n in names})
    values = _run(expr, rows, row, precision, progress, keep_inputs, timing,
                  key=["perex", coords.names], work=(device.Kind.linear, 1, coords.n),
                  template=template, stream=None if timing else stream)
    result = replace(template, rows=rows.done, values=values)
    if timing and stream is not None:  # timed: computed whole, then handed over
        stream(result)
    if timing:
        result.timing = values.pop("__timing__")
        result.timing.update(batch.time_without_jit(row, rows.done, precision))
    return result


def _run(expr: Expression, rows: Plan, row: Callable, precision: int, progress,
         keep_inputs: bool = True, timing: bool = False, key: list | None = None,
         work: tuple | None = None, template: Result | None = None,
         stream: Stream | None = None) -> dict:
    """Run ``row`` over ``rows``. ``key`` must name everything ``row`` depends on besides
    the expression and its helpers (the command, the coordinates, the order ...): it
    is what the program cache finds the compiled program by. ``work`` is (kind, order,
    coordinates): with the rows and the expression's size, where it runs
    (:mod:`autodx.device`). With ``stream``, each chunk goes to ``stream`` as a copy of
    ``template`` holding that chunk's rows and values, and no values are returned."""
    def checked(env):
        shape = shape_of(expr.fun, env)  # XLA drops it: only the message needs it
        if len(shape) != 0:
            raise ExpressionError(f"the expression is a vector of length {shape[0]}; "
                                  "this command needs a scalar (wrap it in sum(...) or "
                                  "index it)")
        return row(env)
    full_key = None if key is None else \
        [expr.text, [h.text for h in expr.helpers.values()], *key]
    try:
        on_chunk = None if stream is None else \
            (lambda done, values: stream(replace(template, rows=done, values=values)))
        return batch.run(checked, rows, precision, progress, keep_inputs, timing, full_key,
                         None if work is None else device.measure(rows, *work,
                                                                  expr.info.cost.size),
                         on_chunk)
    except engine.OrderTooHigh as e:
        raise InputError(f"--order: {e}") from None


# ---------------------------------------------------------------- more of the Python API

def hessian(expr: str | Expression, at: At = None, wrt: Sequence[str] | str | None = None,
            defs: Sequence[str] = (), vector: Any = None, precision: int = 64,
            data: Data | None = None) -> Array:
    """The Hessian (or with ``vector`` the Hessian-vector product) at one point; with
    ``data``, at every row (rows first: shape ``(rows, n, n)`` or ``(rows, n)``).

    Example:
        >>> hessian("dot(x, x)", at=[1, 2]).tolist()
        [[2.0, 0.0], [0.0, 2.0]]
        >>> hessian("x**2*y", data={"x": [1.0, 2.0], "y": [3.0, 4.0]})[1].tolist()
        [[8.0, 4.0], [4.0, 0.0]]
    """
    e = _expr(expr, defs)
    rows = _one_point(plan(e, [at] if at is not None else [], data), at, data)
    out = hessian_rows(e, rows, wrt, vector, precision)
    values = np.asarray(out.values[out.main_array()])
    return values if data is not None else values[0]


def jvp_partial(expr: str | Expression, indices: str | Sequence[int | str], at: At = None,
                data: Data | None = None, wrt: Sequence[str] | str | None = None,
                defs: Sequence[str] = (), precision: int = 64) -> Array:
    """One mixed partial, shape ``(rows,)``: at a point (one row), or at every row of
    ``data``.

    Example:
        >>> jvp_partial("prod(x)", "0,2", at=[1, 2, 3, 4]).tolist()
        [8.0]
    """
    e = _expr(expr, defs)
    ats = [at] if at is not None else []
    return np.asarray(jvp_partial_rows(e, plan(e, ats, data), indices, wrt,
                                       precision).values["partial"])


def perex(expr: str | Expression, wrt: Sequence[str] | str, at: At, data: Data,
          defs: Sequence[str] = (), precision: int = 64) -> Array:
    """Per-example gradients, shape (rows, coordinates), for the rows of ``data``; ``at``
    gives the parameters ``wrt``, shared by every row.

    Example:
        >>> perex("(w*x - y)**2", "w", at={"w": 1}, data={"x": [1, 2], "y": [0, 0]}).tolist()
        [[2.0], [8.0]]
    """
    e = _expr(expr, defs)
    return np.asarray(perex_rows(e, plan(e, [at], data), wrt, precision).values["grad"])
