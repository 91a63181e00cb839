"""``--data`` files -> chunks of rows, one array per variable (first axis = rows).

CSV (with a header naming variables, ``x[0],x[1]`` for a vector; header-less when one
variable is read), ``-`` for CSV on stdin, ``.npy`` (memory-mapped, never read whole)
and ``.npz``. CSV is read a chunk of lines at a time with numpy's C parser; a chunk
that fails is read again line by line to say exactly which line and column is wrong.
"""
from __future__ import annotations

import itertools
import os
import re
import sys
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from .errors import DataError

_HEADER = re.compile(r"([A-Za-z][A-Za-z0-9_]*)(?:\[(\d+)\])?")
Chunk = dict  # variable -> array, first axis rows


@dataclass
class Source:
    """Where rows come from: the variables they hold and a chunk iterator."""

    label: str
    layout: dict[str, int | None]  # variable -> vector length, None for a scalar
    total: int | None              # the number of rows, when known before reading
    _chunks: Callable[[int], Iterator[Chunk]]
    _close: Callable[[], None] = lambda: None

    def chunks(self, size: int) -> Iterator[Chunk]:
        return self._chunks(size)

    def close(self) -> None:
        """Release the file, whether or not its rows were read."""
        self._close()


def open_source(path: str, needed: list[str], vectors: dict[str, str],
                given: list[str]) -> Source:
    """Open ``path`` for the variables ``needed`` (those not given by ``--at``).

    Args:
        path: a .csv, .npy or .npz file, or ``-`` for CSV on stdin.
        needed: variables the file must provide, sorted.
        vectors: variables the expression uses as vectors (name -> why).
        given: variables that ``--at`` gives (a column for one is an error).
    """
    if path == "-":
        return _csv(sys.stdin, "stdin", needed, vectors, given)
    if not os.path.exists(path):
        raise DataError(f"--data {path}: no such file")
    if os.path.isdir(path):
        raise DataError(f"--data {path}: is a folder, not a file")
    suffix = os.path.splitext(path)[1].lower()
    try:
        if suffix == ".npy":
            return _npy(path, needed, vectors)
        if suffix == ".npz":
            return _npz(path, needed, vectors, given)
        handle = open(path, encoding="utf-8-sig", newline="")
    except (OSError, ValueError) as e:
        raise DataError(f"--data {path}: cannot be read ({_reason(e)})") from None
    return _csv(handle, path, needed, vectors, given)


def _reason(e: BaseException) -> str:
    return str(e).split("\n")[0] or type(e).__name__


# ---------------------------------------------------------------- CSV

def _csv(handle, label: str, needed: list[str], vectors: dict[str, str],
         given: list[str]) -> Source:
    try:
        return _csv_source(handle, label, needed, vectors, given)
    except BaseException:
        if handle is not sys.stdin:
            handle.close()
        raise


def _csv_source(handle, label: str, needed: list[str], vectors: dict[str, str],
                given: list[str]) -> Source:
    try:
        first = handle.readline()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{label}: cannot be read ({_reason(e)})") from None
    if not first.strip():
        raise DataError(f"{label}: the file is empty; it needs a header line and rows")
    fields = [f.strip() for f in first.rstrip("\r\n").split(",")]
    if all(_is_number(f) for f in fields):
        layout, order = _headerless(label, fields, needed, vectors)
        pending = [first]
        start_line = 1
    else:
        layout, order = _header(label, fields, needed, vectors, given)
        pending = []
        start_line = 2

    def chunks(size: int) -> Iterator[Chunk]:
        line_no = start_line
        lines_iter = itertools.chain(pending, handle)
        seen = False
        try:
            while True:
                try:
                    lines = list(itertools.islice(lines_iter, size))
                except (OSError, UnicodeDecodeError) as e:
                    raise DataError(f"{label}, after line {line_no - 1}: cannot be read "
                                    f"({_reason(e)})") from None
                if not lines:
                    break
                table = _parse_lines(label, lines, line_no, len(fields))
                line_no += len(lines)
                if len(table) == 0:
                    continue
                seen = True
                yield {name: table[:, cols] if layout[name] is not None else table[:, cols[0]]
                       for name, cols in order.items()}
            if not seen:
                raise DataError(f"{label}: there are no rows after the header")
        finally:
            close()

    def close() -> None:
        if handle is not sys.stdin:
            handle.close()
    return Source(label, layout, None, chunks, close)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _headerless(label, fields, needed, vectors):
    if len(needed) != 1:
        raise DataError(f"{label}, line 1: the first line is all numbers, so it has no "
                        f"header; that works for one variable, but {len(needed)} are "
                        f"needed ({', '.join(needed) or 'none'}): add a header line")
    name = needed[0]
    n = len(fields)
    vector = n > 1 or name in vectors
    return {name: n if vector else None}, {name: list(range(n))}


def _header(label, fields, needed, vectors, given):
    seen: dict[str, dict[int | None, int]] = {}
    for col, text in enumerate(fields, start=1):
        m = _HEADER.fullmatch(text)
        if m is None:
            raise DataError(f"{label}, line 1, column {col}: {text!r} is not a variable "
                            "name (use x, or x[0], x[1], ... for a vector)")
        name, index = m.group(1), (int(m.group(2)) if m.group(2) is not None else None)
        if name in given:
            raise DataError(f"{label}, line 1, column {col}: {name} is given by --at too; "
                            "give it in one place")
        if name not in needed:
            raise DataError(f"{label}, line 1, column {col}: unknown column {text!r}: not "
                            f"a variable of the expression (it needs: "
                            f"{', '.join(needed) or 'none'})")
        slots = seen.setdefault(name, {})
        if index in slots or (index is None and slots) or (None in slots):
            raise DataError(f"{label}, line 1, column {col}: column {text!r} repeats or "
                            f"mixes a scalar and a vector {name}")
        slots[index] = col - 1
    missing = [n for n in needed if n not in seen]
    if missing:
        raise DataError(f"{label}: no column for {missing[0]}, and --at does not give it")
    layout, order = {}, {}
    for name, slots in seen.items():
        if None in slots:
            if name in vectors:
                raise DataError(f"{label}, line 1: {name} is a vector ({vectors[name]}); "
                                f"give its entries as columns {name}[0], {name}[1], ...")
            layout[name], order[name] = None, [slots[None]]
            continue
        n = len(slots)
        if sorted(slots) != list(range(n)):
            gap = min(set(range(n)) - set(slots))
            raise DataError(f"{label}, line 1: vector {name} has no column {name}[{gap}]")
        layout[name], order[name] = n, [slots[i] for i in range(n)]
    return layout, order


def _parse_lines(label: str, lines: list[str], first_line: int, width: int) -> np.ndarray:
    try:
        table = np.loadtxt(lines, delimiter=",", ndmin=2, dtype=np.float64)
    except ValueError:
        _locate(label, lines, first_line, width)
        raise DataError(f"{label}: rows {first_line}-{first_line + len(lines) - 1} "
                        "cannot be read as numbers") from None
    if table.size and table.shape[1] != width:
        _locate(label, lines, first_line, width)
    return table


def _locate(label: str, lines: list[str], first_line: int, width: int) -> None:
    """Raise a DataError for the first bad line: ragged, or a cell that is no number."""
    for offset, line in enumerate(lines):
        if not line.strip():
            continue
        cells = line.rstrip("\r\n").split(",")
        where = f"{label}, line {first_line + offset}"
        if len(cells) != width:
            raise DataError(f"{where}: {len(cells)} fields where the header has {width}")
        for col, cell in enumerate(cells, start=1):
            if not _is_number(cell.strip()):
                raise DataError(f"{where}, column {col}: {cell.strip()!r} is not a number")


# ---------------------------------------------------------------- NumPy files

def _npy(path: str, needed: list[str], vectors: dict[str, str]) -> Source:
    if len(needed) != 1:
        raise DataError(f"--data {path}: a .npy file holds one variable, but "
                        f"{len(needed)} are needed ({', '.join(needed) or 'none'}); give "
                        "the others with --at, or use .npz or CSV")
    array = np.load(path, mmap_mode="r", allow_pickle=False)
    name = needed[0]
    layout = _array_layout(path, name, array, vectors)
    return Source(path, {name: layout}, array.shape[0],
                  _slicer(path, {name: array}, {name: layout}))


def memory_limit() -> int:
    """Bytes an .npz may unpack to: half the machine's memory (it is loaded whole)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def _npz_size(path: str) -> int:
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            return sum(info.file_size for info in z.infolist())
    except (zipfile.BadZipFile, OSError):
        return 0  # np.load says what is wrong with it


def _npz(path: str, needed: list[str], vectors: dict[str, str], given: list[str]) -> Source:
    size, limit = _npz_size(path), memory_limit()
    if size > limit:
        raise DataError(f"--data {path}: its arrays unpack to {size / 2**30:.1f} GiB, more "
                        f"than half this machine's memory ({limit / 2**30:.1f} GiB), and an "
                        ".npz is loaded whole: save them as .npy (read in chunks from disk) "
                        "or CSV")
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    for name in arrays:
        if name in given:
            raise DataError(f"--data {path}: {name} is given by --at too; give it in one place")
        if name not in needed:
            raise DataError(f"--data {path}: unknown array {name!r}: not a variable of the "
                            f"expression (it needs: {', '.join(needed) or 'none'})")
    missing = [n for n in needed if n not in arrays]
    if missing:
        raise DataError(f"--data {path}: no array for {missing[0]}, and --at does not give it")
    layout = {k: _array_layout(path, k, a, vectors) for k, a in arrays.items()}
    rows = {a.shape[0] for a in arrays.values()}
    if len(rows) != 1:
        raise DataError(f"--data {path}: the arrays have different numbers of rows "
                        f"({', '.join(f'{k}: {a.shape[0]}' for k, a in arrays.items())})")
    return Source(path, layout, rows.pop(), _slicer(path, arrays, layout))


def _array_layout(path: str, name: str, array: np.ndarray, vectors: dict[str, str]):
    if array.dtype.kind not in "fiub":
        raise DataError(f"--data {path}: {name} holds {array.dtype}, not numbers")
    if array.ndim == 1:
        if name in vectors:
            raise DataError(f"--data {path}: {name} is a vector ({vectors[name]}), so it "
                            "needs a 2-D array (rows x length)")
        return None
    if array.ndim == 2:
        return None if array.shape[1] == 1 and name not in vectors else array.shape[1]
    raise DataError(f"--data {path}: {name} has shape {array.shape}; use 1-D (scalar per "
                    "row) or 2-D (a vector per row)")


def _slicer(path: str, arrays: dict[str, np.ndarray], layout: dict[str, int | None]):
    rows = next(iter(arrays.values())).shape[0]

    def chunks(size: int) -> Iterator[Chunk]:
        if rows == 0:
            raise DataError(f"--data {path}: there are no rows")
        for start in range(0, rows, size):
            out = {}
            for name, a in arrays.items():
                part = np.asarray(a[start:start + size], dtype=np.float64)
                out[name] = part.reshape(len(part)) if layout[name] is None else part
            yield out
    return chunks
