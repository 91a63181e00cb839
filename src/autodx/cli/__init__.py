"""The typer app: options in, one hand-over to the API, a writer out. The only place that
knows about exit codes and consoles. JAX is imported inside the commands, never at
import time, so ``autodx --help`` and ``autodx --version`` stay fast.

- :mod:`.edge`: failures -> one ``error:`` line and an exit status;
- :mod:`.options`: the options the commands share;
- :mod:`.commands`: one small function per command;
- :mod:`.output`: writing results, warnings and the progress bar;
- :mod:`.cache`: ``autodx cache info | clear``;
- :mod:`.series`, :mod:`.plot`: the Taylor polynomial, and plots.
"""
from __future__ import annotations

from .app import app
from . import cache, commands, plot, series  # noqa: F401  (register the commands)

__all__ = ["app", "main"]


def main() -> None:
    """The ``autodx`` console script."""
    app()
