"""What a ``--data`` file gives the commands: a :class:`Source` of chunks of rows, and
the rules for quoting a file in a message (at most about 60 characters: a file's content
is not to be echoed). Shared by the CSV reader (:mod:`autodx.csvfiles`) and the NumPy
readers (:mod:`autodx.datafiles`).
"""
from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from typing import Callable, Iterator

from .errors import InputError

QUOTE = 60             # characters of a file quoted in a message, at most
Chunk = dict  # variable -> array, first axis rows


def quoted(text: str, limit: int = QUOTE) -> str:
    """``repr(text)``, cut to about ``limit`` characters with ``...`` after the quote.

    Example:
        >>> quoted("x" * 100, 10)
        "'xxxxxxxx'..."
    """
    if len(text) <= limit and len(repr(text)) <= limit + 2:
        return repr(text)
    cut = text[:limit]
    while cut and len(repr(cut)) > limit:  # escapes (\x00) count in what is shown
        cut = cut[:-1]
    return repr(cut) + "..."



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


class DataWarning(UserWarning):
    """Something of a data file was left out: columns that are not variables."""


def reason(e: BaseException) -> str:
    """An exception's first line, cut: numpy and zipfile quote file content in theirs."""
    return clip(str(e).split("\n")[0] or type(e).__name__, QUOTE + 20)


def clip(text: str, limit: int = QUOTE) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


# ---------------------------------------------------------------- file names

def shown(path: str) -> str:
    """A path as a message names it: itself, or quoted and cut short when it is long or
    holds characters a terminal would not show (a NUL, a line end)."""
    return path if len(path) <= 2 * QUOTE and path.isprintable() else quoted(path)


def check_name(path: str, option: str, error: type[Exception] = InputError) -> None:
    """Refuse a path that no file can have, before any work is done: a NUL byte (argv
    cannot hold one, but a line of ``autodx shell`` can), a part longer than the file
    system's NAME_MAX or a whole longer than PATH_MAX (the kernel's ENAMETOOLONG, which
    ``os.stat`` reports whether or not the file exists).

    Example:
        >>> check_name("results.json", "--out")
    """
    if "\x00" in path:
        raise error(f"{option} {shown(path)}: a file name cannot hold a NUL byte (\\x00)")
    try:
        why = too_long(path)
    except UnicodeEncodeError:  # a lone surrogate: no file system name encodes it
        raise error(f"{option} {shown(path)}: not a name the file system can hold") \
            from None
    if why:
        raise error(f"{option} {shown(path)}: {why}; use a shorter name")


def too_long(path: str) -> str | None:
    """Why the kernel finds ``path`` too long (ENAMETOOLONG), or None: which part is
    over NAME_MAX, or that the whole is over PATH_MAX."""
    try:
        os.stat(path)
        return None
    except OSError as e:
        if e.errno != errno.ENAMETOOLONG:
            return None
    name_max, path_max = _limit("PC_NAME_MAX", 255), _limit("PC_PATH_MAX", 4096)
    long = [p for p in path.split(os.sep) if len(os.fsencode(p)) > name_max]  # bytes
    if long:
        return (f"the part {quoted(long[0], 20)} is {len(os.fsencode(long[0])):,} bytes, "
                f"over the file system's limit of {name_max} for one name")
    return (f"the path is {len(os.fsencode(path)):,} bytes, over the file system's "
            f"limit of {path_max}")


def _limit(name: str, default: int) -> int:
    try:
        return int(os.pathconf(".", name))
    except (OSError, ValueError, AttributeError):
        return default
