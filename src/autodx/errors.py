"""Exceptions of autodx. Imports nothing of autodx, so every layer can raise them.

Domain errors stay ordinary exceptions until the CLI edge, which turns each into one
``error:`` line and an exit status from :class:`Status`.
"""
from __future__ import annotations

import enum


class Status(enum.IntEnum):
    """Exit statuses of the ``autodx`` command."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    CHECK = 3  # --check found a number that disagrees with its references
    LOST = 4  # --distributed: a process of the job stopped answering, or ended first
    INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as shells report it


class AutodxError(Exception):
    """Bad input of any kind: the message says what, where, and what to do instead."""

    status = Status.USAGE


class ExpressionError(AutodxError):
    """A syntax or meaning error in an expression, at a 1-based column of ``source``."""

    def __init__(self, message: str, column: int | None = None, source: str = "expression"):
        self.message = message
        self.column = column
        self.source = source
        where = f"{source}, column {column}: " if column is not None else f"{source}: "
        super().__init__(where + message)


class InputError(AutodxError):
    """A bad option value: a point, an order, a variable list, an output path."""


class DataError(AutodxError):
    """A bad data file: the message names the file and, where it can, line and column."""


class OutputError(AutodxError):
    """The results cannot be written: stdout is closed or full, a file cannot be made."""
