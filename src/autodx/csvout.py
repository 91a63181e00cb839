"""CSV results: whole, or streamed chunk by chunk as the rows are computed.

Every number is its shortest round-trip text (orjson's writer where it is installed:
ten times faster than ``repr``), formatted a whole block of rows at a time. A
:class:`Stream` takes each chunk's :class:`autodx.result.Result` as the executor
(:mod:`autodx.batch`) finishes it, and formats and writes it in a thread of its own,
so writing overlaps computing (and reading, which the executor overlaps with
computing): the first rows of a long file appear at once, and memory stays bounded.
"""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from .render import NonfiniteTally, exact, noise_warnings
from .result import Result, flat_labels, layout_of

CSV_BLOCK = 1 << 16  # rows formatted at once: bounded text, whole arrays at a time


def csv_text(r: Result) -> Iterator[str]:
    """The CSV text: a header, then one line per point (the point's values where the
    model says so, then the results), in blocks of :data:`CSV_BLOCK` lines, so millions
    of rows are never held as text at once. Every number is its shortest round-trip
    text (orjson's writer where it is installed: ten times faster than ``repr``)."""
    import csv
    import io

    with_points = r.spec.points_in_csv and r.rows.batched is not None
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(
        (flat_labels(layout_of(r.rows.point(0))) if with_points and r.rows.count else []) +
        r.labels())
    yield header.getvalue()
    columns = (_point_columns(r) if with_points else []) + \
        [np.asarray(c, dtype=np.float64).reshape(r.rows.count, -1) for c in r.columns()]
    for start in range(0, r.rows.count, CSV_BLOCK):
        yield csv_block(np.hstack([c[start:start + CSV_BLOCK] for c in columns]) + 0.0)


def _point_columns(r: Result) -> list[np.ndarray]:
    """The points as columns (rows first), in the order of their CSV header."""
    n, out = r.rows.count, []
    for name in r.rows.point(0):  # in the order of the header
        if name in r.rows.batched:
            out.append(np.asarray(r.rows.batched[name], dtype=np.float64).reshape(n, -1))
        else:
            value = np.asarray(r.rows.fixed[name], dtype=np.float64).reshape(1, -1)
            out.append(np.broadcast_to(value, (n, value.shape[1])))
    return out


def csv_block(block: np.ndarray) -> str:
    """Lines of comma-separated numbers, each the shortest text of its float64."""
    if block.size and np.isfinite(block).all():
        try:
            import orjson
        except ImportError:
            pass
        else:  # "[[1.5,2.0],[3.0,4.0]]" -> "1.5,2.0\n3.0,4.0\n"
            text = orjson.dumps(np.ascontiguousarray(block),
                                option=orjson.OPT_SERIALIZE_NUMPY).decode()
            return text[2:-2].replace("],[", "\n") + "\n"
    return "".join(",".join(map(exact, row)) + "\n" for row in block.tolist())


class Stream:
    """CSV written as the chunks come: ``stream(chunk_result)`` for each chunk in order,
    then :meth:`close` (which waits for the writing, and raises what it raised).

    Args:
        write: takes each piece of text, in order (``sys.stdout.write``, a file's).
    """

    def __init__(self, write: Callable[[str], object]):
        import queue
        import threading

        self.write = write
        self.rows = 0
        self.tally = NonfiniteTally()
        self.noise: list[str] = []
        self.error: BaseException | None = None
        self.box: queue.Queue = queue.Queue(2)  # chunks waiting: bounded memory
        self.thread = threading.Thread(target=self._writer, name="autodx-csv", daemon=True)
        self.thread.start()

    def __call__(self, chunk: Result) -> None:
        if self.error is not None:
            raise self.error
        self.box.put(chunk)

    def _writer(self) -> None:
        first = True
        while True:
            chunk = self.box.get()
            if chunk is None:
                return
            if self.error is not None:
                continue  # drain: the command is told at its next chunk or at close
            try:
                self.tally.add(chunk)
                self.noise += noise_warnings(chunk)
                pieces = csv_text(chunk)
                if not first:
                    next(pieces)  # the header: once
                for piece in pieces:
                    self.write(piece)
                first = False
                self.rows += chunk.rows.count
            except BaseException as e:  # a closed pipe, a full disk: raised in turn
                self.error = e

    def close(self) -> None:
        """Wait until everything is written; raise the writer's error, if any."""
        self.box.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error

    def warnings(self, result: Result) -> list[str]:
        """The warnings of the whole command (``result``: its result without values)."""
        return self.tally.lines() + self.noise + result.notes
