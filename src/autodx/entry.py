"""The ``autodx`` console script and ``python -m autodx``: forward the command to the warm
engine when one answers (:mod:`autodx.client`, standard library only), else run it
in-process (:mod:`autodx.cli`, imported only then)."""
from __future__ import annotations

import os
import sys

from .client import try_forward


def _interrupted(signum, frame):
    try:
        os.write(2, b"error: interrupted\n")
    except OSError:
        pass
    os._exit(130)


def main() -> None:
    """The ``autodx`` console script: forward to the server, else run in-process."""
    import signal

    argv = sys.argv[1:]
    previous = {s: signal.signal(s, _interrupted) for s in (signal.SIGINT, signal.SIGTERM)}
    status = try_forward(argv)
    if status is not None:
        try:
            sys.stdout.flush()
        except OSError:
            pass
        os._exit(status)
    for s, handler in previous.items():
        signal.signal(s, handler)
    from .cli import main as run_here

    run_here()
