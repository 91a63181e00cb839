"""``--data`` files -> chunks of rows, one array per variable (first axis = rows).

``.npy`` (memory-mapped, never read whole), ``.npz`` (loaded whole, refused when it
would not fit in half the machine's memory), and CSV or ``-`` (CSV on stdin), read by
:mod:`autodx.csvfiles`.
"""
from __future__ import annotations

import os
import sys
from typing import Iterator

import numpy as np

from .csvfiles import csv_source
from .errors import DataError
from .sources import Chunk, DataWarning, Source, clip, quoted, reason  # noqa: F401


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
        if sys.stdin is None or sys.stdin.closed:
            raise DataError("--data -: standard input is closed; pipe the CSV rows in, as "
                            "in: autodx ... --data - < points.csv")
        return csv_source(sys.stdin, "stdin", needed, vectors, given)
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
        handle = open(path, encoding="utf-8-sig")  # universal newlines: lines end in \n
    except (OSError, ValueError, EOFError) as e:  # EOFError: an empty .npy
        raise DataError(f"--data {path}: cannot be read ({reason(e)})") from None
    return csv_source(handle, path, needed, vectors, given)



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
    arrays = _npz_arrays(path)
    for name in arrays:
        if name in given:
            raise DataError(f"--data {path}: {name} is given by --at too; give it in one place")
        if name not in needed:
            raise DataError(f"--data {path}: unknown array {quoted(name)}: not a variable of the "
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


def _npz_arrays(path: str) -> dict[str, np.ndarray]:
    """The members of an .npz; any that is not an array (a raw pickle, text, a damaged
    or encrypted member) is an error, not an internal failure."""
    import zipfile
    import zlib

    try:  # opened here, so a member numpy cannot read still leaves the file closed
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as e:
        raise DataError(f"--data {path}: cannot be read ({reason(e)})") from None
    for name, a in arrays.items():
        if not isinstance(a, np.ndarray):
            raise DataError(f"--data {path}: the member {quoted(name)} is not a NumPy array "
                            "(a pickle, or other data); save the arrays with numpy.savez")
    return arrays


def _array_layout(path: str, name: str, array: np.ndarray, vectors: dict[str, str]):
    if array.dtype.kind not in "fiub":
        raise DataError(f"--data {path}: {name} holds {clip(str(array.dtype))}, not numbers")
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

