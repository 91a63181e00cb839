"""Rows of points -> one jit-compiled vmap per chunk of rows, results in input order.

A :class:`Plan` says where the rows come from (``--at`` points, or a ``--data`` file
with ``--at`` values shared by every row); :func:`run` evaluates a per-row function on
all of them in chunks of equal size (the last one padded), so a file of any length is
one compile and bounded memory.
"""
from __future__ import annotations

import abc
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator

import numpy as np

from . import data, datafiles, engine, progcache
from ._jax import jax
from .errors import InputError

MAX_CHUNK = 1 << 16
# XLA options on the CPU, measured on the Taylor program of sin(x)*exp(x)/(1+x**2) at
# order 20: the older (non-"fusion emitter") CPU code generator compiles it in 0.36 s
# instead of 0.50 s, and runs 65,536-row data programs as fast; a program for a few
# --at points runs once, in microseconds, so it also skips LLVM's optimisations
# (0.13 s in all). Other backends keep their defaults.
CPU_COMPILE = {"xla_cpu_use_fusion_emitters": False}
QUICK_COMPILE = {**CPU_COMPILE, "xla_backend_optimization_level": 0}


def compile_options(quick: bool) -> dict | None:
    """XLA options for a program: quick ones for a few points, on the CPU only."""
    if jax.default_backend() != "cpu":
        return None
    return QUICK_COMPILE if quick else CPU_COMPILE
CHUNK_BYTES = 64 << 20  # of results per chunk
SAMPLE = 20  # rows kept for --timing's un-jitted comparison
_DTYPES = {64: np.float64, 32: np.float32}


# ---------------------------------------------------------------- coordinates

@dataclass(frozen=True)
class Coords:
    """The differentiated coordinates: variables in name order, vectors expanded."""

    names: tuple[str, ...]
    sizes: tuple[int | None, ...]  # None: a scalar variable

    @staticmethod
    def of(names: list[str], layout: dict[str, int | None]) -> "Coords":
        return Coords(tuple(names), tuple(layout[n] for n in names))

    @property
    def labels(self) -> list[str]:
        out: list[str] = []
        for name, size in zip(self.names, self.sizes):
            out += [name] if size is None else [f"{name}[{i}]" for i in range(size)]
        return out

    @property
    def n(self) -> int:
        return sum(1 if s is None else s for s in self.sizes)

    @property
    def scalar(self) -> bool:
        """One scalar variable: derivatives are numbers, by Taylor mode."""
        return len(self.names) == 1 and self.sizes[0] is None

    def flat(self, env: dict):
        import jax.numpy as jnp

        return jnp.concatenate([jnp.atleast_1d(env[n]) for n in self.names])

    def merge(self, x, env: dict) -> dict:
        out, start = dict(env), 0
        for name, size in zip(self.names, self.sizes):
            out[name] = x[start] if size is None else x[start:start + size]
            start += 1 if size is None else size
        return out


# ---------------------------------------------------------------- plans

@dataclass
class Rows:
    """The evaluated rows: their batched inputs (if kept) and the shared values."""

    count: int
    batched: dict[str, np.ndarray] | None
    fixed: dict[str, np.ndarray]
    sample: dict[str, np.ndarray] = field(default_factory=dict)

    def point(self, i: int, shared: bool = True) -> dict[str, Any]:
        """Row i as ``{name: number or list}``, names sorted; ``shared=False`` leaves out
        the values every row shares."""
        values = {k: v for k, v in self.fixed.items() if not k.startswith("_") and shared}
        if self.batched is not None:
            values.update({k: v[i] for k, v in self.batched.items()})
        return {k: (values[k].item() if np.ndim(values[k]) == 0 else
                    np.asarray(values[k]).tolist()) for k in sorted(values)}


@dataclass
class Plan(abc.ABC):
    """Where the rows come from; ``done`` is filled in by :func:`run`."""

    layout: dict[str, int | None]  # every variable -> vector length, None for a scalar
    fixed: dict[str, np.ndarray]
    done: Rows | None = None
    total: int | None = None

    def with_fixed(self, name: str, value) -> "Plan":
        return replace(self, fixed={**self.fixed, name: np.asarray(value)})

    @abc.abstractmethod
    def chunks(self, size: int) -> Iterator[dict[str, np.ndarray]]:
        """Chunks of at most ``size`` rows: variable -> array, rows first."""

    def close(self) -> None:
        """Release what the rows are read from."""


@dataclass
class PointsPlan(Plan):
    points: list = field(default_factory=list)

    def chunks(self, size: int) -> Iterator[dict[str, np.ndarray]]:
        for start in range(0, len(self.points), size):
            part = self.points[start:start + size]
            yield {k: np.stack([p[k] for p in part]) for k in part[0]}


@dataclass
class DataPlan(Plan):
    source: datafiles.Source | None = None

    def chunks(self, size: int) -> Iterator[dict[str, np.ndarray]]:
        return self.source.chunks(size)

    def close(self) -> None:
        self.source.close()


def _layout_of(point: data.Point) -> dict[str, int | None]:
    return {k: (None if v.ndim == 0 else v.shape[0]) for k, v in point.items()}


def points_plan(variables: list[str], vectors: dict[str, str], ats) -> PointsPlan:
    """Each ``--at`` is a row; every point must give vectors of the same lengths."""
    if not ats:
        if variables:
            raise InputError(f"no point given: add --at, as in --at {data._example(variables)}"
                             " (or --data FILE)")
        ats = [{}]
    pts = [data.check_point(data.as_point(a), variables, vectors) for a in ats]
    layout = _layout_of(pts[0])
    for i, p in enumerate(pts[1:], start=2):
        if _layout_of(p) != layout:
            raise InputError(f"--at point {i} gives vectors of other lengths than point 1; "
                             "run them separately")
    return PointsPlan(layout, {}, points=pts, total=len(pts))


def data_plan(variables: list[str], vectors: dict[str, str], ats, path: str) -> DataPlan:
    """Rows from ``path``; ``--at`` (repeatable, merged) gives what the file does not."""
    fixed: dict[str, np.ndarray] = {}
    for at in ats:
        for name, value in data.as_point(at).items():
            if name is None:
                raise InputError("with --data, name the --at values (NAME=VALUE): a bare "
                                 "value is ambiguous")
            if name in fixed:
                raise InputError(f"--at: {name} is given twice")
            if name not in variables:
                raise InputError(f"--at: {name} is not a variable of the expression (its "
                                 f"variables: {', '.join(variables)})")
            fixed[name] = value
    for name, value in fixed.items():
        if value.ndim == 0 and name in vectors:
            raise InputError(f"--at: {name} is a vector ({vectors[name]}) but was given a "
                             "number")
    needed = [v for v in variables if v not in fixed]
    if not needed:
        raise InputError(f"--data {path}: --at already gives every variable, so there is "
                         "nothing to read from the file")
    source = datafiles.open_source(path, needed, vectors, sorted(fixed))
    layout = {**_layout_of(fixed), **source.layout}
    return DataPlan(layout, fixed, source=source, total=source.total)


# ---------------------------------------------------------------- running

def _row_spec(layout: dict[str, int | None], dtype) -> dict:
    return {k: jax.ShapeDtypeStruct(() if n is None else (n,), dtype) for k, n in layout.items()}


def chunk_size(row: Callable, plan: Plan, fixed: dict, dtype) -> int:
    """Rows per chunk: as many as keep the results of one chunk near CHUNK_BYTES."""
    batched = {k: v for k, v in _row_spec(plan.layout, dtype).items() if k not in fixed}
    shapes = jax.eval_shape(lambda b, f: row({**f, **b}), batched, fixed)
    per_row = sum(int(np.prod(s.shape)) * np.dtype(s.dtype).itemsize
                  for s in jax.tree_util.tree_leaves(shapes))
    return int(max(1, min(MAX_CHUNK, CHUNK_BYTES // max(per_row, 1))))


def _pad(chunk: dict, size: int) -> dict:
    def pad(a):
        extra = size - a.shape[0]
        return np.concatenate([a, np.repeat(a[-1:], extra, axis=0)]) if extra else a
    return {k: pad(v) for k, v in chunk.items()}


def run(row: Callable, plan: Plan, precision: int = 64, progress=None,
        keep_inputs: bool = True, timing: bool = False, key: list | None = None) -> dict:
    """Evaluate ``row(env)`` at every row of ``plan``; results have rows first.

    Sets ``plan.done`` to the :class:`Rows` evaluated. With ``timing``, the results
    gain ``"__timing__"``: trace, lower and compile seconds and the run time per row.
    ``key`` describes the row function completely (command, expression, options): with
    it, the compiled program is kept in the program cache and a repeated command loads
    it without tracing (see :mod:`autodx.progcache`).
    """
    try:
        return _run(row, plan, precision, progress, keep_inputs, timing, key)
    finally:
        plan.close()


def _run(row, plan, precision, progress, keep_inputs, timing, key) -> dict:
    dtype = _DTYPES[precision]
    fixed = {k: np.asarray(v, dtype) for k, v in plan.fixed.items()}
    parts = None if (key is None or timing) else \
        [key, precision, sorted((k, v) for k, v in plan.layout.items()), sorted(fixed)]
    size = progcache.remember([parts, MAX_CHUNK, CHUNK_BYTES], "chunk",
                              lambda: chunk_size(row, plan, fixed, dtype)) \
        if isinstance(plan, DataPlan) else max(1, min(MAX_CHUNK, plan.total or 1))
    vectorized = engine.vectorize(lambda b, f: row({**f, **b}), (0, None))
    calls: dict = {}
    times, run_seconds = {}, 0.0
    outs, inputs, count, sample = [], [], 0, {}
    for i, chunk in enumerate(plan.chunks(size)):
        chunk = {k: np.asarray(v, dtype) for k, v in chunk.items()}
        n = next(iter(chunk.values())).shape[0]
        args = (_pad(chunk, size) if i else chunk, fixed)
        rows_in = next(iter(args[0].values())).shape[0]
        if rows_in not in calls:
            if timing:
                calls[rows_in], times = engine.compile_timed(vectorized, *args)
            else:
                options = compile_options(isinstance(plan, PointsPlan))
                calls[rows_in] = progcache.compiled(vectorized, args, parts, options)
        call = calls[rows_in]
        start = time.perf_counter()
        outs.append(jax.tree_util.tree_map(lambda a: np.asarray(a)[:n], call(*args)))
        run_seconds += time.perf_counter() - start
        if keep_inputs:
            inputs.append(chunk)
        if i == 0:
            sample = {k: v[:SAMPLE] for k, v in chunk.items()}
        count += n
        if progress is not None:
            progress(n, plan.total)
    results = jax.tree_util.tree_map(lambda *parts: np.concatenate(parts), *outs)
    batched = {k: np.concatenate([c[k] for c in inputs]) for k in inputs[0]} \
        if keep_inputs else None
    plan.done = Rows(count, batched, fixed, sample)
    if timing:
        results["__timing__"] = {**times, "rows": count, "run": run_seconds,
                                 "per_row": run_seconds / max(count, 1)}
    return results


def time_without_jit(row: Callable, rows: Rows, precision: int = 64) -> dict:
    """The same per-row function, op by op without jit, on the first few rows."""
    dtype = _DTYPES[precision]
    fixed = {k: np.asarray(v, dtype) for k, v in rows.fixed.items()}
    n = min(SAMPLE, next(iter(rows.sample.values())).shape[0]) if rows.sample else 0
    with jax.disable_jit():
        row({**fixed, **{k: v[0] for k, v in rows.sample.items()}})  # warm the op cache
        start = time.perf_counter()
        for i in range(n):
            jax.block_until_ready(row({**fixed, **{k: v[i] for k, v in rows.sample.items()}}))
        seconds = time.perf_counter() - start
    return {"nojit_rows": n, "nojit_per_row": seconds / max(n, 1)}
