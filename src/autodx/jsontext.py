"""JSON text of a results document: indented as ``json.dumps(indent=2)`` writes it,
except that an array of numbers (a :class:`Numbers`: a vector, a matrix, a tensor of
any rank) is one line.

Python's indenting encoder is written in Python (about 4 us a number) and puts every
number on a line of its own, indented by its depth: one order-19 tensor of two
variables (1,048,575 numbers) took 18 s and 154 MB of text. An array on one line is
written by the C encoder: the same tensor in under a second, 20 MB.

Example:
    >>> print(dumps({"at": {"x": 1.0}, "d": Numbers([[1.0, 2.0], [3.0, None]])}))
    {
      "at": {
        "x": 1.0
      },
      "d": [[1.0, 2.0], [3.0, null]]
    }
"""
from __future__ import annotations

import contextlib
import gc
import json
from typing import Any, Callable, Iterator

_FLAT = json.JSONEncoder(allow_nan=False)  # one line, ", " and ": " as indent=2 has


class Numbers(list):
    """A (nested) list of numbers and None, written on one line."""


@contextlib.contextmanager
def paused_gc():
    """Python's cycle collector off while a document of many small lists is built and
    written: each collection walks every list made so far, which made ``tolist`` of 5
    million numbers 10 times slower (4.4 s instead of 0.4 s). They hold no cycles."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def text_of(build: Callable[[], Any]) -> str:
    """``dumps(build())``, the document built and written with the collector paused."""
    with paused_gc():
        return dumps(build())


def dumps(doc: Any) -> str:
    """The document as text (no trailing newline); non-finite floats are refused, as
    ``json.dumps(allow_nan=False)`` refuses them."""
    return "".join(_chunks(doc, 0))


def _chunks(value: Any, level: int) -> Iterator[str]:
    if isinstance(value, Numbers) or not isinstance(value, (dict, list, tuple)):
        yield _FLAT.encode(value)
        return
    if not value:
        yield "{}" if isinstance(value, dict) else "[]"
        return
    inner, outer = "\n" + "  " * (level + 1), "\n" + "  " * level
    if isinstance(value, dict):
        yield "{"
        for i, (key, item) in enumerate(value.items()):
            yield ("," if i else "") + inner + _FLAT.encode(str(key)) + ": "
            yield from _chunks(item, level + 1)
        yield outer + "}"
        return
    yield "["
    for i, item in enumerate(value):
        yield ("," if i else "") + inner
        yield from _chunks(item, level + 1)
    yield outer + "]"
