"""One process's share of a ``--data`` file (``--distributed``): the rows it computes,
read without reading the others'.

- CSV: the bytes after the header are cut into equal ranges, each moved on to the next
  line start, so every line is in exactly one share; a process reads the header and its
  range, and hands them to :mod:`autodx.csvfiles` as one text, so separators, quotes,
  index and extra columns are read as in the whole file. Line numbers in its errors are
  those of the whole file. Share 0 always holds the first row (unless there is none).
- ``.npy``: a slice of rows of the memory-mapped array.
- ``.npz``: the same slice of every member: a stored member (``numpy.savez``) is
  memory-mapped inside the archive; a compressed one (``savez_compressed``) is
  decompressed from its start up to the share's end, and only the share kept.

Rows of ``.npy``/``.npz`` are shared out by count: process i of n takes rows
``[ceil(N*i/n), ceil(N*(i+1)/n))``. A share with no rows is None: that process computes
nothing (share 0 always has the first row, so process 0 has a result to merge into).
"""
from __future__ import annotations

import io
import os
import re
import warnings
from typing import Iterator

import numpy as np

from . import csvfiles, datafiles
from .data import DataPlan, fixed_values
from .errors import DataError, InputError
from .sources import Chunk, Source, shown

_BLANK = b" \t\r\n"
_SCAN = 1 << 20  # bytes read at a time looking for a line end


def share_plan(variables: list[str], vectors: dict[str, str], ats, path: str, index: int,
               count: int) -> DataPlan | None:
    """Process ``index`` of ``count``'s rows of ``path``, with ``ats`` giving the
    variables the file lacks (as :func:`autodx.data.data_plan`); None when its share
    holds no rows."""
    if path == "-":
        raise InputError("--distributed: every process reads its share of the file, so "
                         "--data must name a file that every process can read, not -")
    fixed = _fixed(variables, vectors, ats, path)
    needed = [v for v in variables if v not in fixed]
    datafiles.check_regular(path, "--data")
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".npz":
        source = _npz_share(path, needed, vectors, sorted(fixed), index, count)
    else:  # the whole file's checks (its header; an .npy's header, memory-mapped)
        datafiles.open_source(path, needed, vectors, sorted(fixed)).close()
        source = (_npy_share if suffix == ".npy" else _csv_share)(
            path, needed, vectors, sorted(fixed), index, count)
    if source is None:
        return None
    layout = {**{k: (None if v.ndim == 0 else v.shape[0]) for k, v in fixed.items()},
              **source.layout}
    return DataPlan(layout, fixed, source=source, total=source.total)


def _fixed(variables, vectors, ats, path) -> dict[str, np.ndarray]:
    """The ``--at`` values beside ``--data``, checked as :func:`autodx.data.data_plan`
    checks them."""
    return fixed_values(variables, vectors, ats, path)


# ---------------------------------------------------------------- CSV: byte ranges

class _Ranges(io.RawIOBase):
    """The bytes of ``fd`` in ``ranges`` ((start, end) pairs), one after the other."""

    def __init__(self, fd: int, ranges: list[tuple[int, int]]):
        super().__init__()
        self.fd, self.ranges = fd, [r for r in ranges if r[1] > r[0]]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while self.ranges:
            start, end = self.ranges[0]
            data = os.pread(self.fd, min(len(buffer), end - start), start)
            if not data:  # the file shrank under us: its end
                self.ranges.clear()
                break
            buffer[:len(data)] = data
            self.ranges[0] = (start + len(data), end)
            if start + len(data) >= end:
                self.ranges.pop(0)
            return len(data)
        return 0

    def close(self) -> None:
        if not self.closed:
            os.close(self.fd)
        super().close()


def _find(fd: int, byte: bytes, start: int, end: int) -> int:
    """The offset of the first ``byte`` in ``[start, end)``, or ``end``."""
    pos = start
    while pos < end:
        block = os.pread(fd, min(_SCAN, end - pos), pos)
        if not block:
            return end
        at = block.find(byte)
        if at >= 0:
            return pos + at
        pos += len(block)
    return end


def _first_row(fd: int, start: int, end: int) -> int:
    """The offset of the first byte in ``[start, end)`` that is not blank, or ``end``."""
    pos = start
    while pos < end:
        block = os.pread(fd, min(_SCAN, end - pos), pos)
        if not block:
            return end
        kept = block.lstrip(_BLANK)
        if kept:
            return pos + len(block) - len(kept)
        pos += len(block)
    return end


def _line_start(fd: int, pos: int, size: int) -> int:
    """The first line start at or after ``pos``."""
    if pos <= 0 or pos >= size or os.pread(fd, 1, pos - 1) == b"\n":
        return min(max(pos, 0), size)
    return min(_find(fd, b"\n", pos, size) + 1, size)


def _csv_share(path, needed, vectors, given, index, count) -> Source | None:
    fd = datafiles.open_regular(path, "--data")
    try:
        size = os.fstat(fd).st_size
        header = _line_start(fd, 1, size)  # the end of line 1
        first = _line_start_before(fd, _first_row(fd, header, size), header)
        cuts = [0] + [_line_start(fd, max(first + (size - first) * j // count, first + 1),
                                  size) for j in range(1, count)] + [size]
        start, end = cuts[index], cuts[index + 1]
        empty = index > 0 and _first_row(fd, start, end) >= end
        with_header = index > 0 and not empty and \
            not _headerless(fd, header, first, size, path, needed, vectors, given)
    except BaseException:
        os.close(fd)
        raise
    if empty:
        os.close(fd)
        return None
    if index == 0:  # the file itself up to the share's end: its lines are the file's
        return _csv_source(fd, [(0, end)], path, needed, vectors, given)
    ranges = ([(0, header)] if with_header else []) + [(start, end)]
    return _csv_source(fd, ranges, path, needed, vectors, given,
                       lambda: _lines_before(path, start) - (1 if with_header else 0))


def _line_start_before(fd: int, pos: int, floor: int) -> int:
    """The start of the line that holds ``pos`` (not before ``floor``)."""
    while pos > floor:
        block = os.pread(fd, min(_SCAN, pos - floor), max(floor, pos - _SCAN))
        at = block.rfind(b"\n")
        if at >= 0:
            return max(floor, pos - len(block)) + at + 1
        pos -= len(block)
    return floor


def _lines_before(path: str, end: int) -> int:
    """The line ends in ``path`` before byte ``end`` (read only for an error's line)."""
    n, pos = 0, 0
    with open(path, "rb") as f:
        while pos < end:
            block = f.read(min(_SCAN * 16, end - pos))
            if not block:
                break
            n += block.count(b"\n")
            pos += len(block)
    return n


def _headerless(fd, header, first, size, path, needed, vectors, given) -> bool:
    """Whether line 1 is a row, not a header, as :mod:`autodx.csvfiles` decides: it
    reads line 1 and the first row as a file of their own; two rows mean no header."""
    if first >= size:
        return False
    ranges = [(0, header), (first, _line_start(fd, first + 1, size))]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            source = _csv_source(os.dup(fd), ranges, path, needed, vectors, given)
            rows = sum(len(next(iter(c.values()))) for c in source.chunks(4))
    except DataError:
        return False  # that row is share 0's: its process says what is wrong
    return rows == 2


_LINE = re.compile(r"\b(line |rows )(\d+)(?:-(\d+))?")


def _csv_source(fd, ranges, path, needed, vectors, given, offset=None) -> Source:
    """``ranges`` of the file read as one CSV text (``fd`` is closed with it); a line
    number in an error is moved on by ``offset()`` (the lines of the whole file before
    the share's, less the header line read again)."""
    handle = io.TextIOWrapper(io.BufferedReader(_Ranges(fd, ranges), _SCAN),
                              encoding="utf-8-sig")
    try:
        source = csvfiles.csv_source(handle, path, needed, vectors, given)
    except DataError as e:
        raise DataError(_renumber(str(e), path, offset)) from None
    if offset is None:
        return source

    def chunks(size: int) -> Iterator[Chunk]:
        try:
            yield from source.chunks(size)
        except DataError as e:
            raise DataError(_renumber(str(e), path, offset)) from None
    return Source(source.label, source.layout, source.total, chunks, source.close)


def _renumber(message: str, label: str, offset) -> str:
    """Line numbers of a share's error as the whole file's."""
    if offset is None or not message.startswith(label) or not _LINE.search(message):
        return message
    offset = offset()
    head, rest = message[:len(label)], message[len(label):]
    where, colon, tail = rest.partition(": ")

    def moved(m) -> str:
        a = f"{int(m.group(2)) + offset}"
        b = f"-{int(m.group(3)) + offset}" if m.group(3) else ""
        return f"{m.group(1)}{a}{b}"
    if not colon:
        return head + _LINE.sub(moved, rest, count=1)
    return head + _LINE.sub(moved, where) + colon + \
        (_LINE.sub(moved, tail, count=1) if tail.startswith("rows ") else tail)


# ---------------------------------------------------------------- .npy and .npz: slices

def _bounds(rows: int, index: int, count: int) -> tuple[int, int]:
    """Rows ``[lo, hi)`` of process ``index``: rounded up, so share 0 holds a row."""
    return -(-rows * index // count), -(-rows * (index + 1) // count)


def _slices(path: str, arrays: dict[str, np.ndarray], layout: dict, rows: int
            ) -> Source:
    """A Source over ``arrays``, the share's rows only (``rows`` of the whole file)."""
    count = next(iter(arrays.values())).shape[0]
    return Source(path, layout, count, datafiles._slicer(path, arrays, layout, rows))


def _npy_share(path, needed, vectors, given, index, count) -> Source | None:
    from numpy.lib import format as npy

    name = needed[0]
    array = npy.open_memmap(path, mode="r")  # checked by datafiles already
    lo, hi = _bounds(array.shape[0], index, count)
    if index and lo == hi:
        return None
    layout = datafiles._array_layout(path, name, array, vectors)
    return _slices(path, {name: array[lo:hi]}, {name: layout}, array.shape[0])


def _npz_share(path, needed, vectors, given, index, count) -> Source | None:
    """The share of every member of an .npz, checked as :mod:`autodx.datafiles` checks
    a whole one, from the members' headers."""
    import zipfile

    with open(datafiles.open_regular(path, "--data"), "rb") as f:
        try:
            with zipfile.ZipFile(f) as z:
                members = {info.filename[:-4] if info.filename.endswith(".npy") else
                           info.filename: _member(z, info) for info in z.infolist()}
                layout = _npz_layout(path, members, needed, vectors, given)
                rows = next(iter(members.values()))[0][0]
                lo, hi = _bounds(rows, index, count)
                if index and lo == hi:
                    return None
                arrays = {k: _member_rows(f, z, m, lo, hi) for k, m in members.items()}
        except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError,
                *datafiles.NPY_ERRORS) as e:
            raise DataError(f"--data {shown(path)}: cannot be read "
                            f"({datafiles.reason(e)})") from None
    return _slices(path, arrays, layout, rows)


def _member(z, info) -> tuple:
    """(shape, fortran order, dtype, info, offset of the data in the member)."""
    from numpy.lib import format as npy

    with z.open(info) as m:
        version = npy.read_magic(m)
        if version not in datafiles._HEADER_READERS:
            raise ValueError(f"format version {version[0]}.{version[1]} is unknown")
        shape, fortran, dtype = getattr(npy, datafiles._HEADER_READERS[version])(m)
        if dtype.hasobject:
            raise ValueError("Python objects in its dtype, which autodx never loads")
        return shape, fortran, dtype, info, m.tell()


def _npz_layout(path, members, needed, vectors, given) -> dict:
    from .sources import quoted

    for name in members:
        if name in given:
            raise DataError(f"--data {path}: {name} is given by --at too; give it in one "
                            "place")
        if name not in needed:
            raise DataError(f"--data {path}: unknown array {quoted(name)}: not a variable "
                            f"of the expression (it needs: {', '.join(needed) or 'none'})")
    missing = [n for n in needed if n not in members]
    if missing:
        raise DataError(f"--data {path}: no array for {missing[0]}, and --at does not give "
                        "it")
    layout = {k: datafiles._array_layout(path, k, _shaped(m[2], m[0]), vectors)
              for k, m in members.items()}
    if len({m[0][0] for m in members.values()}) != 1:
        raise DataError(f"--data {path}: the arrays have different numbers of rows "
                        f"({', '.join(f'{k}: {m[0][0]}' for k, m in members.items())})")
    return layout


def _shaped(dtype, shape) -> np.ndarray:
    """An array of ``shape`` and ``dtype`` that holds no memory (for the checks)."""
    return np.lib.stride_tricks.as_strided(np.zeros(1, dtype), shape, (0,) * len(shape))


def _member_rows(f, z, member, lo: int, hi: int) -> np.ndarray:
    """Rows ``[lo, hi)`` of a member: memory-mapped where it is stored, else
    decompressed up to ``hi`` (a Fortran-ordered one: whole)."""
    import zipfile

    shape, fortran, dtype, info, offset = member
    row_bytes = dtype.itemsize * int(np.prod(shape[1:], dtype=np.int64))
    if fortran:
        with z.open(info) as m:
            m.seek(offset)
            whole = np.frombuffer(m.read(), dtype).reshape(shape, order="F")
        return whole[lo:hi]
    if hi == lo:
        return np.empty((0, *shape[1:]), dtype)
    if info.compress_type == zipfile.ZIP_STORED:
        f.seek(info.header_offset + 26)
        name_len, extra_len = np.frombuffer(f.read(4), "<u2")
        start = info.header_offset + 30 + int(name_len) + int(extra_len) + offset
        return np.memmap(f, dtype, "r", start + lo * row_bytes, (hi - lo, *shape[1:]))
    with z.open(info) as m:
        m.seek(offset + lo * row_bytes)  # decompresses what comes before: not kept
        data = m.read((hi - lo) * row_bytes)
    return np.frombuffer(data, dtype).reshape((hi - lo, *shape[1:]))
