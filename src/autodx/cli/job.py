"""``--distributed`` on the command line: join the job, compute this process's share of
the ``--data`` rows, write its part; process 0 merges the parts and writes ``--out`` as
one process would (see :mod:`autodx.distributed`)."""
from __future__ import annotations

import os
import sys
from typing import Callable, Optional

from ..errors import AutodxError, InputError, Status
from .options import Sink
from .output import Progress, emit


def check(data: Optional[str], sink: Sink, refused: dict[str, bool]) -> None:
    """What --distributed needs, checked before the job is joined."""
    if not data:
        raise InputError("--distributed shares out the rows of --data FILE among the "
                         "processes: give --data")
    if data == "-":
        raise InputError("--distributed: every process reads its share of the file, so "
                         "--data must name a file that every process can read, not -")
    if not sink.out:
        raise InputError("--distributed: give --out FILE, in a folder every process can "
                         "reach; process 0 writes the merged results there")
    for option, given in refused.items():
        if given:
            raise InputError(f"--distributed does not take {option}; run without it, or "
                             "without --distributed")
    worker = sys.modules.get("autodx.server_worker")  # imported by a test is not serving
    if worker is not None and worker.SERVING[0]:
        raise InputError("--distributed joins a job of processes, which the warm engine "
                         "cannot: run it with AUTODX_SERVER=off")


def distribute(compute: Callable, text: str, defs, at, data: Optional[str], sink: Sink,
               refused: dict[str, bool], expression: Optional[Callable] = None) -> None:
    """``compute(api, expression, progress, rows=plan)`` over this process's share of
    the rows, once :func:`check` has passed (``refused``: options it does not take)."""
    check(data, sink, refused)
    run(compute, text, defs, at, data, sink, expression)


def run(compute: Callable, text: str, defs, at, data: str, sink: Sink,
        expression: Optional[Callable] = None) -> None:
    """``compute(api, expression, progress, rows=plan)`` over this process's share."""
    from .. import distributed, outfile

    outfile.check_out(sink.out, data)
    state: dict = {}

    def cleanup() -> None:
        if "where" in state:
            distributed.clean(state["where"], job.index)

    job = distributed.Job(cleanup)  # its process starts JAX while this one does
    from .. import api, shares

    job.join()
    state["where"] = where = distributed.folder(sink.out, job.token)
    pause = os.environ.get("AUTODX_DISTRIBUTED_TEST_PAUSE", "")
    if pause.replace(".", "", 1).isdigit():
        import time

        time.sleep(min(float(pause), 120))  # the tests' way to catch a process mid-way
    try:
        try:
            result = _share(compute, api, shares, text, defs, at, data, job, expression,
                            sink)
            os.makedirs(where, mode=0o700, exist_ok=True)
            job.done(distributed.write_part(where, job.index, result))
        except BaseException as e:
            job.failed(*_said(e))
            raise
        parts = job.parts()
        if job.index:
            job.wait_verdict()
            return
        try:
            _check_merged(result, parts, sink)
            emit(distributed.merge(result, where, parts), sink)
        except BaseException as e:
            message, status = _said(e)
            job.verdict(status, message)
            raise
        job.verdict(Status.OK)
    finally:
        job.close()
        cleanup()


def _share(compute, api, shares, text, defs, at, data, job, expression, sink: Sink):
    e = (expression or api.expression)(text, defs or ())
    vectors = e.vectors if hasattr(e, "vectors") else e.info.vectors
    plan = shares.share_plan(e.variables, vectors, at or [], data, job.index, job.count)
    if plan is None:
        return None  # no rows here (fewer rows than processes)
    with Progress() as progress, sink.holding():
        return compute(api, e, progress, rows=plan)


def _check_merged(first, parts: dict, sink: Sink) -> None:
    """Before process 0 merges the parts: the rows of every process together within the
    bounds of what holds them (each share was bounded alone)."""
    if first is None or not first.rows.count:
        return
    from ..distributed import leaves
    from ..limits import check_held, check_numbers, numbers_per_row

    held = [v for _, v in leaves(first.values)] + list((first.rows.batched or {}).values())
    total = sum(p["rows"] for p in parts.values())
    with sink.holding():
        check_held(total)
        check_numbers(total, numbers_per_row(first.rows.count, held, first.rows.fixed))


def _said(e: BaseException) -> tuple[str, int]:
    """An exception as the other processes are told it: its message and status."""
    if isinstance(e, AutodxError):
        return " ".join(str(e).split()), int(e.status)
    if isinstance(e, KeyboardInterrupt):
        return "interrupted", int(Status.INTERRUPTED)
    return f"an internal error ({type(e).__name__})", int(Status.INTERNAL)
