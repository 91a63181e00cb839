"""The typer app: options in, one hand-over to the API, a writer out. The only place that
knows about exit codes and consoles. JAX is imported inside the commands, never at
import time, so ``autodx --help`` and ``autodx --version`` stay fast.

- :mod:`.edge`: failures -> one ``error:`` line and an exit status;
- :mod:`.options`: the options the commands share;
- :mod:`.commands`: one small function per command (:mod:`.jacobian`, :mod:`.series`,
  :mod:`.plot` in modules of their own);
- :mod:`.output`: writing results, warnings and the progress bar;
- :mod:`.cache`: ``autodx cache info | clear``;
- :mod:`.functions`: ``autodx functions``, the vocabulary of the expression language;
- :mod:`.server`: ``autodx server start | stop | status``;
- :mod:`.shell`: ``autodx shell``.

The ``autodx`` console script is :func:`autodx.entry.main`, which forwards a command
to a running server before any of this is imported; :func:`main` here runs in-process.
"""
from __future__ import annotations

from .app import app
from . import cache, commands, functions, jacobian, plot, series, server, shell  # noqa: F401,E501

__all__ = ["app", "main"]


def main() -> None:
    """Run the command of ``sys.argv`` in this process."""
    app()
