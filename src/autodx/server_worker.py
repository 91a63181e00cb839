"""A worker of the warm engine: JAX imported once, then one forwarded command after
another, each run through the same typer app as in-process, in the caller's
circumstances.

For each command the worker takes on the caller's working folder, umask and
environment; its stdout and stderr are buffers that remember the order of what is
written and answer ``isatty()`` as the caller's streams do, and the terminal size is
the caller's. The buffered output goes back in one piece once the command has ended,
so a worker that dies mid-command has written nothing. Meanwhile a watchdog thread
sends heartbeats, ends the worker when the caller hangs up (Ctrl-C), and hands the
command back to the caller when the worker's memory grows by more than
AUTODX_SERVER_MEMORY_MB (default 2048) during it. Either way the worker exits, cleaning
up as an interrupted command does, and the supervisor starts a new one.
"""
from __future__ import annotations

import io
import json
import os
import select
import socket
import sys
import threading
import time

from . import client, interrupt

BEAT_EVERY = 1.0  # seconds between heartbeats to a waiting caller
DEFAULT_MEMORY_MB = 2048
_WATCH_EVERY = 0.02
_WARM_UP = ["grad", "x**3+2*x**2-3*x+1", "--order", "3", "--at", "1", "--format", "plain"]


def _env_number(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, ""))
        return value if value > 0 else default
    except ValueError:
        return default


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class _Sink(io.BufferedIOBase):
    """Bytes written to one stream, appended to a log shared by stdout and stderr."""

    def __init__(self, log: list, fd: int):
        super().__init__()
        self.log, self.fd = log, fd

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.log.append((self.fd, bytes(data)))
        return len(data)


class _Stream(io.TextIOWrapper):
    """A standard stream of the caller: its encoding, and its ``isatty()``."""

    def __init__(self, log: list, fd: int, encoding: str, errors: str, tty: bool):
        super().__init__(_Sink(log, fd), encoding=encoding, errors=errors, write_through=True)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


class _Caller:
    """The caller's circumstances, put on for one command and taken off after it."""

    def __init__(self, body: dict, stdin_fd: int | None):
        self.body, self.stdin_fd, self.log = body, stdin_fd, []

    def __enter__(self):
        b = self.body
        self.saved = (dict(os.environ), os.getcwd(), sys.stdin, sys.stdout, sys.stderr,
                      os.get_terminal_size)
        os.chdir(b["cwd"])  # first: a folder we cannot enter is the caller's to run
        os.environ.clear()
        os.environ.update(b["env"])
        self.mask = os.umask(int(b["umask"]))
        enc, tty, closed = b["encodings"], b["terminal"], set(b.get("closed", ()))
        sys.stdout = None if "stdout" in closed else _Stream(self.log, 1, *enc["stdout"],
                                                             tty["stdout"])
        sys.stderr = None if "stderr" in closed else _Stream(self.log, 2, *enc["stderr"],
                                                             tty["stderr"])
        sys.stdin = self._stdin(enc["stdin"], "stdin" in closed)
        size = tty["size"]
        os.get_terminal_size = _terminal_size(os.terminal_size(size) if size else None)
        return self

    def _stdin(self, encoding, closed: bool):
        if closed:
            return None
        if self.stdin_fd is None:
            return io.TextIOWrapper(io.BytesIO(), encoding=encoding[0], errors=encoding[1])
        return open(self.stdin_fd, encoding=encoding[0], errors=encoding[1], closefd=False)

    def __exit__(self, *exc):
        env, cwd, sys.stdin, sys.stdout, sys.stderr, os.get_terminal_size = self.saved
        os.environ.clear()
        os.environ.update(env)
        os.umask(self.mask)
        try:
            os.chdir(cwd)
        except OSError:
            pass
        return False


def _print_stderr(text: str) -> None:
    if sys.stderr is not None:
        sys.stderr.write(text)


def _terminal_size(size):
    def get_terminal_size(fd: int = 1):
        if size is None:
            raise OSError(25, "Inappropriate ioctl for device")
        return size
    return get_terminal_size


class _Watchdog(threading.Thread):
    """Heartbeats to the caller while its command runs; the end of the worker when the
    caller hangs up, or when the command takes more memory than the bound."""

    def __init__(self, conn: socket.socket, bound: int):
        super().__init__(daemon=True)
        self.conn, self.bound = conn, bound
        self.lock, self.done = threading.Lock(), threading.Event()
        self.base = rss_bytes(os.getpid())

    def run(self) -> None:
        poller = select.poll()
        poller.register(self.conn.fileno(), select.POLLIN | select.POLLHUP | select.POLLERR)
        last = time.monotonic()
        while not self.done.wait(_WATCH_EVERY):
            if poller.poll(0) and client.hung_up(self.conn):
                _end()
            if rss_bytes(os.getpid()) - self.base > self.bound:
                self.send(client.FALLBACK, json.dumps({"warn": ""}).encode())
                _end()
            if time.monotonic() - last >= BEAT_EVERY:
                last = time.monotonic()
                self.send(client.BEAT)

    def send(self, kind: bytes, payload: bytes = b"") -> None:
        with self.lock:
            if self.done.is_set():
                return
            try:
                client.send_frame(self.conn, kind, payload)
            except OSError:
                _end()

    def finish(self) -> None:
        with self.lock:
            self.done.set()


def _end() -> None:
    """Stop the command as an interrupt would (child processes and partial files go),
    and the worker with it."""
    interrupt._handler(None, None)


class Runner:
    def __init__(self, chan: socket.socket):
        self.chan = chan
        import typer

        from . import _jax  # noqa: F401  (JAX, configured, and the cache folder)
        from .cli import app

        self.command = typer.main.get_command(app)
        _keep_programs_in_memory()
        self.bound = int(_env_number("AUTODX_SERVER_MEMORY_MB", DEFAULT_MEMORY_MB)) << 20
        self.usable = True
        self.source = client.source_hash()

    def warm_up(self) -> None:
        """One small command, so the first caller finds every module and JAX's runtime
        ready (every backend: :func:`autodx.device.place` then directs each command). A compile cache that warns (it cannot be used) is seen here: such a
        worker leaves every command to the caller, whose run gives the warning."""
        from ._jax import jax

        jax.devices()  # every backend started once: an accelerator stays initialised
        body = {"argv": _WARM_UP, "cwd": os.getcwd(), "umask": 0o022, "env": dict(os.environ),
                "terminal": {"stdout": False, "stderr": False, "size": None},
                "encodings": {n: ["utf-8", "strict"] for n in ("stdin", "stdout", "stderr")}}
        with _Caller(body, None) as caller:
            status = self._main(_WARM_UP)
        self.usable = status == 0 and not any(fd == 2 for fd, _ in caller.log)

    def _main(self, argv: list[str]) -> int:
        """The command's exit status, as the interpreter would give it: an exception
        that escapes (AUTODX_DEBUG=1) is its traceback on stderr and status 1."""
        try:
            self.command.main(args=argv, prog_name="autodx")
        except SystemExit as e:
            if e.code is None or isinstance(e.code, int):
                return e.code or 0
            _print_stderr(f"{e.code}\n")
            return 1
        except Exception as e:
            import traceback

            _print_stderr("".join(traceback.format_exception(e)))
            return 1
        return 0

    def serve_one(self, conn: socket.socket, stdin_fd: int | None) -> bool:
        """Run the command on ``conn``; whether it was served here."""
        conn.settimeout(client.timeout())
        body = json.loads(client.recv_frame(conn)[1])
        if not self.usable:
            client.send_frame(conn, client.FALLBACK, json.dumps({"warn": ""}).encode())
            return False
        watchdog = _Watchdog(conn, self.bound)
        pause = _env_number_in(body["env"], "AUTODX_SERVER_TEST_PAUSE")
        try:
            caller = _Caller(body, stdin_fd).__enter__()
        except OSError:
            client.send_frame(conn, client.FALLBACK, json.dumps({"warn": ""}).encode())
            return False
        try:
            watchdog.start()
            if pause:
                time.sleep(pause)  # the tests' way to catch a command mid-way
            status = self._main(body["argv"])
        finally:
            caller.__exit__(None, None, None)
        watchdog.finish()
        _reply(conn, caller.log, status, self.chan)
        return True


PROGRAMS_IN_MEMORY = 64


def _keep_programs_in_memory() -> None:
    """Keep the last PROGRAMS_IN_MEMORY compiled programs in the worker, so a repeated
    command skips even loading its program from the disk cache (and a command run with
    AUTODX_NO_CACHE=1 skips compiling it again). The disk cache is left as in-process
    runs leave it: an entry used from memory is touched, and a missing one is compiled
    and stored again."""
    import collections

    from . import cachedir, progcache

    original, kept = progcache.compiled, collections.OrderedDict()

    def compiled(jitted, args, parts, options=None):
        if parts is None:
            return original(jitted, args, parts, options)
        key = progcache.key_for([parts, options], *args)
        folder = progcache._folder()
        path = None if folder is None else os.path.join(folder, key + ".bin")
        if key in kept and (path is None or os.path.isfile(path)):
            kept.move_to_end(key)
            if path is not None:
                cachedir.touch(path)
            return kept[key]
        kept[key] = original(jitted, args, parts, options)
        while len(kept) > PROGRAMS_IN_MEMORY:
            kept.popitem(last=False)
        return kept[key]
    progcache.compiled = compiled


def _env_number_in(env: dict, name: str) -> float:
    try:
        return max(0.0, float(env.get(name, "") or 0))
    except ValueError:
        return 0.0


def _reply(conn: socket.socket, log: list, status: int, chan: socket.socket) -> None:
    """The output in the order it was written (runs of one stream joined), then the
    exit status; the supervisor hears the command was served before the caller does,
    so a ``status`` asked right after it counts it."""
    merged: list = []
    for fd, data in log:
        if merged and merged[-1][0] == fd:
            merged[-1][1].append(data)
        else:
            merged.append((fd, [data]))
    for fd, parts in merged:
        client.send_frame(conn, client.OUT if fd == 1 else client.ERR, b"".join(parts))
    chan.send(b"done 1")
    client.send_frame(conn, client.EXIT, json.dumps({"status": status}).encode())


SERVING = [False]  # true in a worker of the warm engine (set by run, not by import)


def run(chan: socket.socket) -> None:
    """The worker's life: get ready, then one command per message from the supervisor."""
    SERVING[0] = True
    runner = Runner(chan)
    runner.warm_up()
    chan.send(b"ready " + runner.source.encode())
    while True:
        message, fds, _, _ = socket.recv_fds(chan, 64, 4)
        if not message:
            return
        conn = socket.socket(fileno=fds[0])
        served = False
        try:
            served = runner.serve_one(conn, fds[1] if len(fds) > 1 else None)
        except (OSError, ValueError, KeyError):
            pass
        finally:
            conn.close()
            for fd in fds[1:]:
                os.close(fd)
        if not served:
            chan.send(b"done 0")
