"""The command's member of a JAX distributed job (``--distributed``), in a process of
its own: ``python -m autodx.jobmember``, started by :mod:`autodx.distributed`.

It joins the job (``jax.distributed.initialize``), and relays between its command and
the job's key-value store: the job's token, each process's news (its part is written,
or it failed), and process 0's verdict. Why a process of its own: when a process of the
job stops sending heartbeats, jaxlib (0.10.2) ends every other one with abort() from
its error-polling thread ("Terminating process because the JAX distributed service
detected fatal errors", a stack trace on stderr), and its ``missed_heartbeat_callback``
crashes (std::bad_cast); the command, which watches this process, ends instead with one
``error:`` line, its files removed. The command's own arithmetic uses only its local
devices, so nothing else of JAX needs the job.

Lines of JSON on stdin and stdout. In: the settings, then ``{"done": meta}`` or
``{"failed": {...}}``, then (process 0) ``{"verdict": {...}}``, then ``{"bye": true}``.
Out: ``{"joined": {"id", "count", "token"}}`` or ``{"error": text}``, then
``{"parts": {id: meta}}`` or ``{"failed": {"id", "message", "status"}}``, then (the
others) ``{"verdict": {...}}``, then ``{"bye": true}``. The end of stdin before
``bye`` means the command is gone: the member says so to the job and ends.
"""
from __future__ import annotations

import json
import os
import queue
import sys
import threading
import time
import uuid

PREFIX = "autodx/"
LOST = 4  # the exit status of autodx.distributed.LOST (not imported: it needs numpy)
POLL = 0.05  # seconds between looks at the store


def _say(obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _first_line(e: BaseException) -> str:
    return (str(e).strip().split("\n")[0] or type(e).__name__)[:300]


def main() -> int:
    settings = json.loads(sys.stdin.readline() or "{}")
    os.environ["JAX_PLATFORMS"] = "cpu"  # the member computes nothing: no accelerator
    import jax
    from jax._src import distributed as _distributed

    import inspect

    # an older JAX (0.5) has no heartbeat_timeout_seconds / shutdown_timeout_seconds:
    # its own heartbeat (about 100 s) then decides when a silent peer is given up
    known = inspect.signature(jax.distributed.initialize).parameters
    settings = {k: v for k, v in settings.items() if k in known}
    try:
        jax.distributed.initialize(**settings)
    except Exception as e:  # a job that cannot be formed: said, and the end
        _say({"error": _first_line(e)})
        return 1
    client = _distributed.global_state.client
    me, count = jax.process_index(), jax.process_count()
    if me == 0:
        token = uuid.uuid4().hex[:16]
        client.key_value_set(PREFIX + "token", token)
    else:
        token = client.blocking_key_value_get(PREFIX + "token", 60_000)
    _say({"joined": {"id": me, "count": count, "token": token}})
    inbox = _Inbox()
    threading.Thread(target=inbox.read, daemon=True).start()
    return _relay(client, inbox, me, count)


class _Inbox:
    """The command's messages, read by a thread of their own; ``closed`` once its end
    of the pipe is (the command is gone)."""

    def __init__(self):
        self.queue: queue.Queue = queue.Queue()
        self.closed = threading.Event()

    def read(self) -> None:
        for line in sys.stdin:
            self.queue.put(json.loads(line))
        self.closed.set()
        self.queue.put(None)

    def get(self):
        return self.queue.get()


def _relay(client, inbox: _Inbox, me: int, count: int) -> int:
    def gone() -> int:  # the command ended first: the others learn it at once
        client.key_value_set(PREFIX + f"failed/{me}", json.dumps(
            {"id": me, "message": f"process {me} ended before its part was written",
             "status": LOST}))
        os._exit(1)

    news = inbox.get()
    if news is None:
        return gone()
    kind = "done" if "done" in news else "failed"
    value = news[kind] if kind == "done" else {"id": me, **news["failed"]}
    client.key_value_set(PREFIX + f"{kind}/{me}", json.dumps(value))
    failed = _wait(client, inbox, gone, lambda store: _parts(store, count))
    if failed:  # no verdict and no shutdown: the others are ending too
        inbox.get()
        os._exit(0)
    if me == 0:
        news = inbox.get()
        if news is None:
            return gone()
        client.key_value_set(PREFIX + "verdict", json.dumps(news["verdict"]))
    else:
        _wait(client, inbox, gone, _verdict)
    if inbox.get() is None:
        return gone()
    import jax

    jax.distributed.shutdown()  # every process is here: the job ends together
    _say({"bye": True})
    return 0


def _parts(store: dict, count: int):
    """Every part's news, or the first failure: said to the command; whether it failed."""
    failed = sorted(k for k in store if k.startswith(PREFIX + "failed/"))
    if failed:
        _say({"failed": json.loads(store[failed[0]])})
        return True
    done = {int(k.rsplit("/", 1)[1]): json.loads(v) for k, v in store.items()
            if k.startswith(PREFIX + "done/")}
    if len(done) == count:
        _say({"parts": done})
        return False
    return None


def _verdict(store: dict):
    if PREFIX + "verdict" in store:
        _say({"verdict": json.loads(store[PREFIX + "verdict"])})
        return False
    return None


def _wait(client, inbox: _Inbox, gone, look) -> bool:
    """Look at the store until ``look`` answers (not None); the command's end first is
    the member's."""
    while True:
        answer = look(dict(client.key_value_dir_get(PREFIX)))
        if answer is not None:
            return answer
        if inbox.closed.is_set():
            gone()
        time.sleep(POLL)


if __name__ == "__main__":
    sys.exit(main())
