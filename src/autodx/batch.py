"""The executor: rows of points -> one jit-compiled vmap per chunk of rows, results in
input order.

:func:`run` evaluates a per-row function on every row of a :class:`autodx.data.Plan`
in chunks of equal size (the last one padded), so a file of any length is one compile
and bounded memory; compiled programs come from the program cache where it has them.
"""
from __future__ import annotations

import time
from typing import Callable, Iterator

import numpy as np

from . import device, engine, progcache, shard
from ._jax import jax
from .data import Plan, Rows
from .limits import check_numbers, held_now, numbers_per_row
from .errors import InputError

MAX_CHUNK = 1 << 16
# XLA options on the CPU, measured on the Taylor program of sin(x)*exp(x)/(1+x**2) at
# order 20: the older (non-"fusion emitter") CPU code generator compiles it in 0.36 s
# instead of 0.50 s, and runs 65,536-row data programs as fast; a program for a few
# --at points runs once, in microseconds, so it also skips LLVM's optimisations
# (0.13 s in all). Other backends keep their defaults.
CPU_COMPILE = {"xla_cpu_use_fusion_emitters": False}
QUICK_COMPILE = {**CPU_COMPILE, "xla_backend_optimization_level": 0}


def compile_options(quick: bool, platform: str = "cpu") -> dict | None:
    """XLA options for a program: quick ones for a few points, on the CPU only."""
    if platform != "cpu":
        return None
    return QUICK_COMPILE if quick else CPU_COMPILE


CHUNK_BYTES = 64 << 20  # of results, or of working memory, per chunk
SAMPLE = 20  # rows kept for --timing's un-jitted comparison
_DTYPES = {64: np.float64, 32: np.float32}


# ---------------------------------------------------------------- running

def _row_spec(layout: dict[str, int | None], dtype) -> dict:
    return {k: jax.ShapeDtypeStruct(() if n is None else (n,), dtype) for k, n in layout.items()}


def chunk_size(row: Callable, plan: Plan, fixed: dict, dtype) -> int:
    """Rows per chunk: as many as keep one chunk's results, and its working memory (the
    intermediates a row holds at once, :func:`scratch_bytes`, measured on the row's
    program for every command alike), near CHUNK_BYTES each. jvp-partial with 16
    indices holds some 35 MB per row, its results 16 bytes: sized by the results, 200
    rows took 23 GB."""
    batched = {k: v for k, v in _row_spec(plan.layout, dtype).items() if k not in fixed}
    closed = jax.make_jaxpr(lambda b, f: row({**f, **b}))(batched, fixed)
    per_row = max(sum(_nbytes(v.aval) for v in closed.jaxpr.outvars), scratch_bytes(closed.jaxpr))
    return int(max(1, min(MAX_CHUNK, CHUNK_BYTES // max(per_row, 1))))


def _nbytes(aval) -> int:
    shape, dtype = getattr(aval, "shape", None), getattr(aval, "dtype", None)
    return 0 if shape is None or dtype is None else int(np.prod(shape)) * np.dtype(dtype).itemsize


def scratch_bytes(jaxpr) -> int:
    """The most bytes of intermediates alive at once when ``jaxpr`` runs operation by
    operation (each value held from its operation to its last use; a nested program, a
    loop's body or a branch, adds its own peak while it runs). XLA fuses operations and
    holds less; an array it must build, such as a gather's, is counted as it is."""
    from jax.extend.core import Var, jaxprs_in_params

    last: dict = {}
    for i, eqn in enumerate(jaxpr.eqns):
        for v in eqn.invars:
            if isinstance(v, Var):
                last[v] = i
    for v in jaxpr.outvars:
        if isinstance(v, Var):
            last[v] = len(jaxpr.eqns)
    live = peak = 0
    made: set = set()
    for i, eqn in enumerate(jaxpr.eqns):
        inner = max((scratch_bytes(sub) for sub in jaxprs_in_params(eqn.params)), default=0)
        peak = max(peak, live + sum(_nbytes(v.aval) for v in eqn.outvars) + inner)
        kept = [v for v in eqn.outvars if v in last]
        live += sum(_nbytes(v.aval) for v in kept)
        made.update(kept)
        done = {v for v in eqn.invars if isinstance(v, Var) and v in made and last[v] == i}
        live -= sum(_nbytes(v.aval) for v in done)
    return peak


def _chunk(row: Callable, plan: Plan, fixed: dict, dtype, parts) -> int:
    """Rows per chunk (:func:`chunk_size`, kept in the program cache). A plan of a few
    points is one chunk, unless its rows' working memory would pass CHUNK_BYTES (one
    point is never measured: it is one chunk whatever it holds)."""
    rows = max(1, min(MAX_CHUNK, plan.total or 1))
    if plan.quick and rows == 1:
        return 1
    size = progcache.remember([parts, MAX_CHUNK, CHUNK_BYTES], "chunk",
                              lambda: chunk_size(row, plan, fixed, dtype),
                              lambda v: type(v) is int and 1 <= v <= MAX_CHUNK)
    return min(size, rows) if plan.quick else size


def _pad(chunk: dict, size: int) -> dict:
    def pad(a):
        extra = size - a.shape[0]
        return np.concatenate([a, np.repeat(a[-1:], extra, axis=0)]) if extra else a
    return {k: pad(v) for k, v in chunk.items()}


def run(row: Callable, plan: Plan, precision: int = 64, progress=None,
        keep_inputs: bool = True, timing: bool = False, key: list | None = None,
        work: "device.Work | None" = None,
        on_chunk: Callable[[Rows, dict], None] | None = None) -> dict:
    """Evaluate ``row(env)`` at every row of ``plan``; results have rows first.

    Sets ``plan.done`` to the :class:`Rows` evaluated. With ``timing``, the results
    gain ``"__timing__"``: trace, lower and compile seconds and the run time per row.
    ``key`` describes the row function completely (command, expression, options): with
    it, the compiled program is kept in the program cache and a repeated command loads
    it without tracing (see :mod:`autodx.progcache`). ``work`` (its size, see
    :mod:`autodx.device`) decides the device, with ``--device``; without it, the rows
    alone are counted. With ``--devices`` (:func:`autodx.device.ask_devices`), each
    chunk is split by rows over several local devices (:mod:`autodx.shard`), with the
    same results.

    With ``on_chunk``, each chunk's rows and results go to ``on_chunk(rows, results)``
    as soon as they are known, in order, and are not kept: the results returned are
    empty and memory stays bounded whatever the number of rows. Reading is overlapped
    with computing: the next chunks are read by a thread of their own while one is
    computed (``on_chunk`` may hand its work to another, as :mod:`autodx.csvout` does).
    """
    try:
        if precision not in _DTYPES:  # the Python API's precision=, unchecked before
            raise InputError(f"precision {precision!r}: use 64 or 32 (float64 or float32)")
        where = device.place(work or device.Work(rows=plan.total or 1, kind=device.Kind.linear))
        devices = device.spread(where)
        spread = shard.Spread(devices) if len(devices) > 1 else None
        with jax.default_device(where):
            return _run(row, plan, precision, progress, keep_inputs, timing, key,
                        where.platform, on_chunk, spread)
    finally:
        plan.close()


def _run(row, plan, precision, progress, keep_inputs, timing, key, platform,
         on_chunk=None, spread: "shard.Spread | None" = None) -> dict:
    dtype = _DTYPES[precision]
    fixed = {k: np.asarray(v, dtype) for k, v in plan.fixed.items()}
    parts = None if (key is None or timing) else \
        [key, precision, sorted((k, v) for k, v in plan.layout.items()), sorted(fixed)]
    size = _chunk(row, plan, fixed, dtype, parts)
    vectorized = engine.vectorize(lambda b, f: row({**f, **b}), (0, None))
    padded = (lambda rows: rows) if spread is None else spread.padded
    if spread is not None:
        size = spread.chunk(size)
    if not _cacheable(platform):
        parts = None
    calls: dict = {}
    times, run_seconds = {}, 0.0
    outs, inputs, count, sample = [], [], 0, {}

    hold = held_now()

    def take(n, chunk, out) -> None:
        nonlocal count
        result = jax.tree_util.tree_map(lambda a: np.asarray(a)[:n], out)
        if hold is not None and n:  # held whole: bounded before more rows are computed
            held = [*jax.tree_util.tree_leaves(result), *(chunk.values() if keep_inputs else ())]
            check_numbers(plan.total or count + n, numbers_per_row(n, held, fixed), hold,
                          plan.total is not None)
        if on_chunk is not None:
            on_chunk(Rows(n, chunk if keep_inputs else None, fixed), result)
        else:
            outs.append(result)
            if keep_inputs:
                inputs.append(chunk)
        count += n
        if progress is not None:
            progress(n, plan.total)

    chunks = plan.chunks(size) if plan.quick else _read_ahead(plan.chunks(size))
    try:
        for i, chunk in enumerate(chunks):
            chunk = {k: np.asarray(v, dtype) for k, v in chunk.items()}
            n = next(iter(chunk.values())).shape[0]
            args = (_pad(chunk, padded(size if i else n)), fixed)
            rows_in = next(iter(args[0].values())).shape[0]
            if rows_in not in calls:
                calls[rows_in] = _compile(vectorized, args, parts, timing, times,
                                          compile_options(plan.quick, platform), spread)
            start = time.perf_counter()
            take(n, chunk, calls[rows_in](*args))
            run_seconds += time.perf_counter() - start
            if i == 0:
                sample = {k: v[:SAMPLE] for k, v in chunk.items()}
    finally:  # the reader stops before the plan's file is closed
        getattr(chunks, "close", lambda: None)()
    if on_chunk is not None:
        plan.done = Rows(count, None, fixed, sample)
        return {}
    results = jax.tree_util.tree_map(lambda *parts: np.concatenate(parts), *outs)
    batched = {k: np.concatenate([c[k] for c in inputs]) for k in inputs[0]} \
        if keep_inputs else None
    plan.done = Rows(count, batched, fixed, sample)
    if timing:
        results["__timing__"] = {**times, "rows": count, "run": run_seconds,
                                 "per_row": run_seconds / max(count, 1)}
    return results


def _cacheable(platform: str) -> bool:
    """Whether the program cache can hold this platform's programs: always where JAX
    loads a program for the device it runs on (:func:`autodx.progcache.loads_on_device`);
    with an older JAX, which loads it for every local device, only where JAX sees a
    single device of the platform."""
    return progcache.loads_on_device() or len(jax.local_devices(backend=platform)) == 1


def _compile(vectorized, args, parts, timing: bool, times: dict, options,
             spread: "shard.Spread | None") -> Callable:
    """The program for ``args``: on one device, or one per device of ``spread`` (each
    cached under its device). With ``timing``, ``times`` becomes this compile's
    seconds by step (over every device's program)."""
    took: list[dict] = []

    def one(local, key):
        if timing:
            call, seconds = engine.compile_timed(vectorized, *local)
            took.append(seconds)
            return call
        return progcache.compiled(vectorized, local, None if parts is None else
                                  [*parts, *key], options)
    call = one(args, []) if spread is None else \
        spread.program(lambda i, local: one(local, [spread.key(i)]), args)
    if timing:
        times.clear()
        times.update({step: sum(t[step] for t in took) for step in took[0]})
    return call


def _read_ahead(chunks: Iterator[dict], depth: int = 2) -> Iterator[dict]:
    """``chunks``, read by a thread of their own up to ``depth`` chunks ahead, so that
    parsing a file overlaps computing; an error while reading is raised here, in turn."""
    import queue
    import threading

    box: queue.Queue = queue.Queue(depth)
    done = object()
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for chunk in chunks:
                if not put(("chunk", chunk)):
                    return
            put(("end", done))
        except BaseException as e:  # handed to the reader's consumer, in order
            put(("error", e))

    thread = threading.Thread(target=read, name="autodx-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, item = box.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=1.0)


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
