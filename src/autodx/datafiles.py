"""``--data`` files -> chunks of rows, one array per variable (first axis = rows).

``.npy`` (memory-mapped, never read whole), ``.npz`` (loaded whole, refused when it
would not fit in half the machine's memory), and CSV or ``-`` (CSV on stdin), read by
:mod:`autodx.csvfiles`. A path must name a regular file (:func:`check_regular`): a FIFO
no one writes to, a socket or a device would block the read or never end it.
"""
from __future__ import annotations

import os
import stat
import sys
import tokenize
from typing import Iterator

import numpy as np

from .csvfiles import csv_source
from .errors import DataError
from .sources import (Chunk, DataWarning, Source, check_name, clip, quoted,  # noqa: F401
                      reason, shown)

# What numpy's reading of an .npy header can raise on a damaged one: read_magic and a
# short file (ValueError, EOFError), ast.literal_eval on the header text (its documented
# ValueError, TypeError, SyntaxError, MemoryError, RecursionError), numpy's retry through
# tokenize for Python 2 headers (TokenError), and a shape too large for an index
# (OverflowError). An .npz member's header is read the same way; so should any other
# reader of .npy files (vectors.read_vector for --hvp FILE).
NPY_ERRORS = (ValueError, EOFError, TypeError, SyntaxError, MemoryError, RecursionError,
              tokenize.TokenError, OverflowError)


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
    check_regular(path, "--data")
    suffix = os.path.splitext(path)[1].lower()
    try:
        if suffix == ".npy":
            return _npy(path, needed, vectors)
        if suffix == ".npz":
            return _npz(path, needed, vectors, given)
        handle = open(open_regular(path, "--data"), encoding="utf-8-sig")  # newlines: \n
    except OSError as e:
        raise DataError(f"--data {shown(path)}: cannot be read ({reason(e)})") from None
    return csv_source(handle, path, needed, vectors, given)


# ---------------------------------------------------------------- regular files only

_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def check_regular(path: str, option: str, error: type[Exception] = DataError) -> None:
    """Refuse, without opening it, a path that is not a regular file: a folder, a FIFO
    (which no one may ever write to: reading it would wait forever), a socket, a device
    (``/dev/zero`` never ends, ``/dev/stdin`` is a pipe or a terminal). ``-`` (CSV on
    stdin) is the way to stream; the caller handles it before. :func:`open_regular`
    checks again what it opens, so a file swapped in between cannot block it either.

    Args:
        path: the file a file-valued option names (``--data``, ``--hvp``).
        option: the option, for the message.
        error: the exception to raise (an :class:`InputError` for ``--hvp``).

    Example:
        >>> check_regular("/dev/null", "--data")
        Traceback (most recent call last):
        ...
        autodx.errors.DataError: --data /dev/null: is a character device, not a regular file; ...
    """
    check_name(path, option, error)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise error(f"{option} {shown(path)}: no such file") from None
    except OSError as e:
        raise error(f"{option} {shown(path)}: cannot be read ({reason(e)})") from None
    _check_mode(path, option, mode, error)


def _check_mode(path: str, option: str, mode: int, error: type[Exception]) -> None:
    if stat.S_ISDIR(mode):
        raise error(f"{option} {shown(path)}: is a folder, not a file")
    if not stat.S_ISREG(mode):
        kind = next((k for test, k in _KINDS if test(mode)), "a special file")
        stream = " (to stream CSV rows, pipe them in with --data -)" \
            if option == "--data" else ""
        raise error(f"{option} {shown(path)}: is {kind}, not a regular file; name a "
                    f"file{stream}")


def open_regular(path: str, option: str, error: type[Exception] = DataError) -> int:
    """A descriptor of ``path`` open for reading, which is a regular file. Opened with
    O_NONBLOCK, so that a FIFO put in the file's place since :func:`check_regular` does
    not block the open; the mode is checked on the descriptor, and O_NONBLOCK cleared
    for the reads. OSError where it cannot be opened."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | \
        getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)
    try:
        _check_mode(path, option, os.fstat(fd).st_mode, error)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


# ---------------------------------------------------------------- NumPy files

def _npy(path: str, needed: list[str], vectors: dict[str, str]) -> Source:
    if len(needed) != 1:
        raise DataError(f"--data {path}: a .npy file holds one variable, but "
                        f"{len(needed)} are needed ({', '.join(needed) or 'none'}); give "
                        "the others with --at, or use .npz or CSV")
    array = _npy_map(path)
    name = needed[0]
    layout = _array_layout(path, name, array, vectors)
    return Source(path, {name: layout}, array.shape[0],
                  _slicer(path, {name: array}, {name: layout}))


# Format versions and numpy's public header readers: 3.0 is 2.0 with a UTF-8 header,
# which is ASCII for every array of numbers (autodx refuses the rest anyway).
_HEADER_READERS = {(1, 0): "read_array_header_1_0", (2, 0): "read_array_header_2_0",
                   (3, 0): "read_array_header_2_0"}


def _npy_map(path: str) -> np.ndarray:
    """The .npy at ``path``, memory-mapped read-only (what ``np.load(mmap_mode="r")``
    does, on a descriptor :func:`open_regular` made); a damaged header is a DataError."""
    from numpy.lib import format as npy

    with open(open_regular(path, "--data"), "rb") as f:
        try:
            version = npy.read_magic(f)
            if version not in _HEADER_READERS:
                raise ValueError(f"format version {version[0]}.{version[1]} is unknown")
            shape, fortran, dtype = getattr(npy, _HEADER_READERS[version])(f)
            if dtype.hasobject:
                raise ValueError("Python objects in its dtype, which autodx never loads")
            return np.memmap(f, dtype=dtype, mode="r", shape=shape,
                             order="F" if fortran else "C", offset=f.tell())
        except NPY_ERRORS as e:
            raise DataError(f"--data {shown(path)}: cannot be read ({_why(e)})") from None


def _why(e: BaseException) -> str:
    """What went wrong reading an .npy header: tokenize's TokenError holds a tuple."""
    if isinstance(e, tokenize.TokenError) and e.args:
        return f"its header is damaged: {reason(Exception(e.args[0]))}"
    return reason(e)


def memory_limit() -> int:
    """Bytes an .npz may unpack to: half the machine's memory (it is loaded whole)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def _npz_size(f) -> int:
    import zipfile

    try:
        with zipfile.ZipFile(f) as z:
            return sum(info.file_size for info in z.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return 0  # np.load says what is wrong with it
    finally:
        f.seek(0)


def _npz(path: str, needed: list[str], vectors: dict[str, str], given: list[str]) -> Source:
    with open(open_regular(path, "--data"), "rb") as f:
        size, limit = _npz_size(f), memory_limit()
        if size > limit:
            raise DataError(f"--data {path}: its arrays unpack to {size / 2**30:.1f} GiB, "
                            f"more than half this machine's memory ({limit / 2**30:.1f} "
                            "GiB), and an .npz is loaded whole: save them as .npy (read in "
                            "chunks from disk) or CSV")
        arrays = _npz_arrays(path, f, lambda names: _npz_names(path, names, needed, given))
    layout = {k: _array_layout(path, k, a, vectors) for k, a in arrays.items()}
    rows = {a.shape[0] for a in arrays.values()}
    if len(rows) != 1:
        raise DataError(f"--data {path}: the arrays have different numbers of rows "
                        f"({', '.join(f'{k}: {a.shape[0]}' for k, a in arrays.items())})")
    return Source(path, layout, rows.pop(), _slicer(path, arrays, layout))


def _npz_names(path: str, names: list[str], needed: list[str], given: list[str]) -> None:
    """The members' names against the expression's variables: checked from the zip's
    directory, before anything is unpacked."""
    for name in names:
        if name in given:
            raise DataError(f"--data {path}: {name} is given by --at too; give it in one place")
        if name not in needed:
            raise DataError(f"--data {path}: unknown array {quoted(name)}: not a variable of the "
                            f"expression (it needs: {', '.join(needed) or 'none'})")
    missing = [n for n in needed if n not in names]
    if missing:
        raise DataError(f"--data {path}: no array for {missing[0]}, and --at does not give it")


def _npz_arrays(path: str, f, check_names=None) -> dict[str, np.ndarray]:
    """The members of the .npz open as ``f``; any that is not an array (a raw pickle,
    text, a damaged or encrypted member, a damaged member header) is an error, not an
    internal failure. A header that claims more rows than the member holds may fail
    to allocate them first: MemoryError is one of the header's errors. ``check_names``
    sees the members' names before any is unpacked."""
    import zipfile
    import zlib

    try:  # the caller closes f, so a member numpy cannot read still leaves it closed
        with np.load(f, allow_pickle=False) as z:
            if check_names is not None:
                check_names(list(z.files))
            arrays = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError, OSError,
            *NPY_ERRORS) as e:
        raise DataError(f"--data {shown(path)}: cannot be read ({_why(e)})") from None
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


def _slicer(path: str, arrays: dict[str, np.ndarray], layout: dict[str, int | None],
            total: int | None = None):
    """Chunks of ``arrays``' rows; ``total``, the rows of the whole file (for a share of
    it: a share may be empty, the file not), decides whether there are none."""
    rows = next(iter(arrays.values())).shape[0]
    total = rows if total is None else total

    def chunks(size: int) -> Iterator[Chunk]:
        if total == 0:
            raise DataError(f"--data {path}: there are no rows")
        for start in range(0, rows, size):
            out = {}
            for name, a in arrays.items():
                part = np.asarray(a[start:start + size], dtype=np.float64)
                out[name] = part.reshape(len(part)) if layout[name] is None else part
            yield out
    return chunks

