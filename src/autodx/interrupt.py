"""Ctrl-C and SIGTERM: the command ends at once with exit status 130, leaves no partial
file and no child process behind, and prints no traceback.

The handler does not raise KeyboardInterrupt: a signal can arrive while JAX's C++ code
is calling back into Python, and an exception thrown through it aborts the process
("terminate called after throwing ..."). Instead, whatever would be left behind is
registered here while it exists (a temporary file being written, the symbolic worker),
and the handler removes it and exits. Imports nothing of autodx.
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys

EXIT_STATUS = 130  # 128 + SIGINT, as shells report an interrupted command
_PATHS: set[str] = set()
_PROCESSES: set = set()  # subprocess.Popen objects


@contextlib.contextmanager
def temporary(path: str):
    """Remove ``path`` if the command is interrupted while it is being written."""
    _PATHS.add(path)
    try:
        yield path
    finally:
        _PATHS.discard(path)


@contextlib.contextmanager
def child(process):
    """Kill ``process`` if the command is interrupted while it runs."""
    _PROCESSES.add(process)
    try:
        yield process
    finally:
        _PROCESSES.discard(process)


def _handler(signum, frame) -> None:
    for process in list(_PROCESSES):
        try:
            process.kill()
        except OSError:
            pass
    for path in list(_PATHS):
        try:
            os.remove(path)
        except OSError:
            pass
    try:
        os.write(2, b"error: interrupted\n")
    except OSError:
        pass
    os._exit(EXIT_STATUS)


@contextlib.contextmanager
def handled():
    """Handle SIGINT and SIGTERM as above while the block runs (main thread only)."""
    signals = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP")
                                                 else [])
    try:
        previous = {s: signal.signal(s, _handler) for s in signals}
    except ValueError:  # not the main thread: leave signals as they are
        yield
        return
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        sys.stderr.flush()
