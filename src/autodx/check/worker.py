"""The symbolic worker: a process of its own, so sympy's unbounded time and memory on a
large expression never hold up the numbers.

``python -P -m autodx.check.worker`` reads one JSON request on stdin and answers with a
stream of JSON lines, each written as soon as it is known, so what was finished before
the time limit survives it: :func:`autodx.check.references.reference_lines` (merged by
:mod:`autodx.check.replies`), or for a request of ``"kind": "series"``
:func:`autodx.check.series_refs.series_lines`. :class:`Worker` starts the process with
the command, so its import of sympy overlaps JAX's work, hands it the request once the
numbers are known, and kills it at the time limit.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from .. import interrupt
from . import replies

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
        """The reply (:func:`autodx.check.replies.merge`): complete, or with
        ``"stopped"`` saying why it is not, where the time limit or a failure cut it
        short after some references were known. None when the time ran out before
        anything a check can use; ``{"error": ...}`` when the request failed."""
        lines, why = self.ask_lines(dict(request, timeout=timeout), timeout)
        points = len(request["points"]) if request.get("check") else 0
        if why is not None and not (points and lines):
            if why.startswith("sympy did not finish"):
                return None
            if not why.startswith("the symbolic worker failed"):
                return {"error": why}
            raise RuntimeError(why)
        errors = [line["symbolic_error"] for line in lines if "symbolic_error" in line]
        if errors and not points:
            return {"error": errors[0]}
        why = why or (f"no symbolic derivative: {errors[0]}" if errors else None)
        timed_out = why is not None and why.startswith("sympy did not finish")
        reply = replies.merge(
            lines, request["entries"], points,
            "sympy ran out of time (--symbolic-timeout)" if timed_out else why,
            "the check ran out of time (--symbolic-timeout)" if timed_out else why)
        if why is not None:
            reply["stopped"] = why
        return reply

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
    """One JSON request on stdin; the reply on stdout, a JSON line at a time."""
    _die_with_parent()
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):
        pass
    from .references import reference_lines  # sympy's import overlaps JAX's work

    request = json.loads(sys.stdin.read())
    if request.get("kind") == "series":
        from .series_refs import series_lines

        _stream(series_lines(request), lambda e: e.message)
        return
    _stream(reference_lines(request, request.get("timeout")), str)


def _stream(lines, message) -> None:
    """Write the lines of a reply as they come; a failure ends the stream with an
    ``{"error": ...}`` line (``message(e)`` for an ExpressionError)."""
    from ..errors import ExpressionError

    def write(item: dict) -> None:
        sys.stdout.write(json.dumps(item) + "\n")
        sys.stdout.flush()
    try:
        for item in lines:
            write(item)
    except ExpressionError as e:
        write({"error": message(e)})
    except (NotImplementedError, MemoryError, RecursionError) as e:
        write({"error": f"{type(e).__name__}: {e}"})
    except Exception as e:  # noqa: BLE001  sympy's own failure on an odd expression
        write({"error": f"sympy failed: {type(e).__name__}: {e}"})  # is a reply, not a crash


if __name__ == "__main__":
    _main()
