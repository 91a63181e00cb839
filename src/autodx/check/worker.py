"""The symbolic worker: a process of its own, so sympy's unbounded time and memory on a
large expression never hold up the numbers.

``python -P -m autodx.check.worker`` reads one JSON request on stdin and writes one
JSON reply (:func:`autodx.check.references.references`); a request of ``"kind":
"series"`` is answered instead by a stream of JSON lines
(:func:`autodx.check.series_refs.series_lines`), each written as soon as it is known, so
what was finished before the time limit survives it. :class:`Worker` starts the
process with the command, so its import of sympy overlaps JAX's work, hands it the
request once the numbers are known, and kills it at the time limit.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from .. import interrupt

MODULE = __name__ if __name__ != "__main__" else "autodx.check.worker"
PARENT = "AUTODX_WORKER_PARENT"  # the pid of the command that started the worker
MEMORY_LIMIT = 4 << 30  # sympy on a hostile expression must not take the machine down


class Worker:
    """The symbolic worker process; use as a context manager so it never outlives the
    command."""

    def __init__(self):
        env = dict(os.environ, PYTHONWARNINGS="ignore", **{PARENT: str(os.getpid())})
        # -P: the current folder is not put on sys.path, so a sympy.py (or autodx/) in
        # the user's folder can never be imported in place of the real one
        self.proc = subprocess.Popen(
            [sys.executable, "-P", "-m", MODULE], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self._registered = interrupt.child(self.proc)
        self._registered.__enter__()

    def ask(self, request: dict, timeout: float) -> dict | None:
        """The reply, or None when the time limit ran out."""
        try:
            out, err = self.proc.communicate(json.dumps(request).encode(), timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            return None
        if self.proc.returncode != 0:
            last = err.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
            raise RuntimeError(f"the symbolic worker failed: {last[0]}")
        return json.loads(out)

    def ask_lines(self, request: dict, timeout: float) -> tuple[list[dict], str | None]:
        """The lines of a streamed reply that came before the time limit, and why the
        stream ended early: None when it is complete, else a reason for a warning."""
        why = None
        try:
            out, err = self.proc.communicate(json.dumps(request).encode(), timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()  # what was written before: kept
            why = f"sympy did not finish within {timeout:g} s (--symbolic-timeout)"
        lines = [json.loads(line) for line in out.decode().split("\n")[:-1]]
        if why is None and not (lines and lines[-1].get("done")):
            if lines and "error" in lines[-1]:
                why = lines.pop()["error"]
            else:
                last = err.decode(errors="replace").strip().splitlines()[-1:]
                why = f"the symbolic worker failed ({last[0] if last else 'no message'})"
        return [line for line in lines if "done" not in line], why

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        self._registered.__exit__(None, None, None)
        return False


def _die_with_parent() -> None:
    """End this worker when the command that started it ends, however it ends (even by
    SIGKILL, which it cannot clean up after): the kernel's parent-death signal where
    there is one (Linux), and a watchdog thread everywhere."""
    import threading
    import time

    parent = int(os.environ.get(PARENT, "0") or 0)
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):
        pass
    if parent and os.getppid() != parent:  # the parent died before the line above
        os._exit(1)

    def watch():
        while True:
            time.sleep(0.5)
            if parent and os.getppid() != parent:
                os._exit(1)
    threading.Thread(target=watch, daemon=True).start()


def _main() -> None:
    """One JSON request on stdin, one JSON reply on stdout."""
    _die_with_parent()
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):
        pass
    from ..errors import ExpressionError
    from .references import references

    request = json.loads(sys.stdin.read())
    if request.get("kind") == "series":
        _stream(request)
        return
    try:
        reply = references(request)
    except (ExpressionError, NotImplementedError, MemoryError, RecursionError) as e:
        reply = {"error": f"{type(e).__name__}: {e}" if not isinstance(e, ExpressionError)
                 else str(e)}
    sys.stdout.write(json.dumps(reply))


def _stream(request: dict) -> None:
    """Answer a series request line by line; a failure ends the stream with an
    ``{"error": ...}`` line."""
    from ..errors import ExpressionError
    from .series_refs import series_lines

    def write(item: dict) -> None:
        sys.stdout.write(json.dumps(item) + "\n")
        sys.stdout.flush()
    try:
        for item in series_lines(request):
            write(item)
    except ExpressionError as e:
        write({"error": e.message})
    except (NotImplementedError, MemoryError, RecursionError) as e:
        write({"error": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    _main()
