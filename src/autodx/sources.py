"""What a ``--data`` file gives the commands: a :class:`Source` of chunks of rows, and
the rules for quoting a file in a message (at most about 60 characters: a file's content
is not to be echoed). Shared by the CSV reader (:mod:`autodx.csvfiles`) and the NumPy
readers (:mod:`autodx.datafiles`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

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
