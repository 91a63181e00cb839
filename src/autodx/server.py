"""The warm engine: one background process per user that runs autodx commands with
JAX already imported, so a command costs its own work, not Python's and JAX's start-up.

The process that listens (the supervisor) uses the standard library only and never
imports JAX: it answers ``status`` and ``stop``, checks each caller, and hands each
command to one of a few worker processes (:mod:`autodx.server_worker`), forked from
it before JAX is imported in them (forking a process that runs JAX's threads is
unsafe). A worker runs one command at a time, in the caller's folder, umask and
environment, through the same typer app as in-process, and is replaced when it dies,
so a command that crashes, runs out of memory or is interrupted never takes the
server down. Commands wait in a queue while every worker is busy; the supervisor sends
them a heartbeat meanwhile, so that a client can tell a busy server from a hung one.

Safety: the socket is in a folder only the user can enter (0700, checked), made 0600,
and every caller's user id is checked (SO_PEERCRED). A caller of another autodx,
source, JAX or Python makes the server exit (the caller runs in-process); a caller
whose engine settings differ (JAX_*, XLA_*, the compile cache folder) runs in-process.
It exits by itself after AUTODX_SERVER_IDLE seconds (default 900) without a command.

Run as ``python -m autodx.server``; ``autodx server start | stop | status`` is the
front end (:mod:`autodx.cli.server`).
"""
from __future__ import annotations

import collections
import fcntl
import json
import os
import selectors
import signal
import socket
import sys
import time

from . import client
from .server_worker import BEAT_EVERY, _env_number, rss_bytes

DEFAULT_IDLE = 900.0
HELLO_TIMEOUT = 2.0
LOG_NAME = "server.log"
_MAX_EARLY_DEATHS = 3  # workers that die before they are ready: give up


def workers_wanted() -> int:
    return int(_env_number("AUTODX_SERVER_WORKERS", 2))


class Worker:
    def __init__(self, pid: int, chan: socket.socket):
        self.pid, self.chan = pid, chan
        self.ready = self.busy = False
        self.served = 0


class Supervisor:
    def __init__(self, folder: str, listener: socket.socket):
        self.folder, self.listener = folder, listener
        self.bound = os.lstat(os.path.join(folder, client.SOCKET_NAME))
        self.identity = client.identity()
        self.engine = client.engine_key()
        self.started = time.time()
        self.last_work = time.monotonic()
        self.idle = _env_number("AUTODX_SERVER_IDLE", DEFAULT_IDLE)
        self.workers: dict[int, Worker] = {}
        self.queue: collections.deque = collections.deque()  # (conn, fds)
        self.served = 0
        self.early_deaths = 0
        self.stopping = False
        self.selector = selectors.DefaultSelector()
        self.selector.register(listener, selectors.EVENT_READ, self._accept)

    # ------------------------------------------------------------ workers

    def spawn(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:  # the worker: nothing of the supervisor's but its channel
            parent.close()
            self.listener.close()
            for w in self.workers.values():
                w.chan.close()
            for conn, fds in self.queue:
                conn.close()
                _close(fds)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            code = 1
            try:
                from . import server_worker

                server_worker.run(child)
                code = 0
            finally:
                os._exit(code)
        child.close()
        worker = Worker(pid, parent)
        self.workers[pid] = worker
        self.selector.register(parent, selectors.EVENT_READ, lambda: self._from_worker(worker))

    def _from_worker(self, worker: Worker) -> None:
        # never wait: a status call may have read the news the selector announced
        try:
            message = worker.chan.recv(1024, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return
        except OSError:
            message = b""
        if not message:
            self._lost(worker)
            return
        kind, _, rest = message.partition(b" ")
        if kind == b"ready":
            if rest.decode() != self.identity["source"]:
                self.stop("autodx changed on disk")
                return
            worker.ready = True
            self.last_work = time.monotonic()  # idle time counts from being ready
        elif kind == b"done":
            worker.busy = False
            if rest == b"1":
                worker.served += 1
                self.served += 1
            self.last_work = time.monotonic()
        self._dispatch()

    def _lost(self, worker: Worker) -> None:
        self.selector.unregister(worker.chan)
        worker.chan.close()
        del self.workers[worker.pid]
        try:
            os.waitpid(worker.pid, 0)
        except ChildProcessError:
            pass
        if not worker.ready:
            self.early_deaths += 1
        if self.stopping:
            return
        if self.early_deaths >= _MAX_EARLY_DEATHS:
            self.stop("workers die as they start")
            return
        self.last_work = time.monotonic()
        self.spawn()

    def _dispatch(self) -> None:
        while self.queue:
            free = next((w for w in self.workers.values() if w.ready and not w.busy), None)
            if free is None:
                return
            conn, fds = self.queue.popleft()
            if client.hung_up(conn):  # Ctrl-C while it waited
                conn.close()
                _close(fds)
                continue
            try:
                socket.send_fds(free.chan, [b"run"], [conn.fileno(), *fds])
                free.busy = True
            except OSError:
                pass
            conn.close()  # the worker has its own copy now: its death closes the call
            _close(fds)

    # ------------------------------------------------------------ callers

    def _accept(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        self.last_work = time.monotonic()
        try:
            if client.peer_uid(conn) != os.getuid():
                conn.close()  # another user: not a word
                return
            # the first frame follows the connect at once; a caller that dawdles must
            # not hold up the others for long
            conn.settimeout(HELLO_TIMEOUT)
            hello, fds = client.recv_request(conn)
        except (OSError, ValueError):
            conn.close()
            return
        self._answer(conn, fds, hello)

    def _answer(self, conn: socket.socket, fds: list[int], hello: dict) -> None:
        op = hello.get("op")
        same = hello.get("identity") == self.identity
        for worker in list(self.workers.values()):  # news sent before this call came
            self._from_worker(worker)
        try:
            if op == "status":
                client.send_json(conn, self.status(same))
            elif op == "ping":
                client.send_json(conn, {"ok": True, "same": same, "pid": os.getpid(),
                                        "ready": sum(w.ready for w in self.workers.values())})
            elif op == "stop":
                client.send_json(conn, {"stopping": True, "pid": os.getpid()})
                self.stop()
            elif op == "run" and not same:
                client.send_frame(conn, client.FALLBACK, json.dumps({"warn": ""}).encode())
                self.stop("a caller of another autodx, source, JAX or Python")
            elif op == "run" and hello.get("engine") != self.engine:
                client.send_frame(conn, client.FALLBACK, json.dumps({"warn": ""}).encode())
            elif op == "run":
                self.queue.append((conn, fds))
                self._dispatch()
                return
        except OSError:
            pass
        conn.close()
        _close(fds)

    def status(self, same: bool) -> dict:
        pids = [os.getpid(), *self.workers]
        return {"pid": os.getpid(), "version": self.identity["autodx"],
                "jax": self.identity["distributions"].get("jax", "?"), "same": same,
                "uptime": time.time() - self.started, "served": self.served,
                "memory": sum(rss_bytes(p) for p in pids),
                "workers": [{"pid": w.pid, "ready": w.ready, "busy": w.busy,
                             "served": w.served, "memory": rss_bytes(w.pid)}
                            for w in self.workers.values()],
                "queued": len(self.queue), "idle_exit": self.idle,
                "socket": os.path.join(self.folder, client.SOCKET_NAME)}

    # ------------------------------------------------------------ the loop

    def serve(self) -> None:
        for _ in range(workers_wanted()):
            self.spawn()
        last_beat = time.monotonic()
        while not self.stopping:
            for key, _ in self.selector.select(timeout=BEAT_EVERY / 2):
                key.data()
                if self.stopping:
                    break
            now = time.monotonic()
            if now - last_beat >= BEAT_EVERY:
                last_beat = now
                self._beat_queue()
            busy = any(w.busy for w in self.workers.values()) or self.queue
            if not busy and now - self.last_work > self.idle:
                self.stop("idle")
        self._shutdown()

    def _beat_queue(self) -> None:
        for conn, _ in list(self.queue):
            try:
                client.send_frame(conn, client.BEAT)
            except OSError:
                pass

    def stop(self, why: str = "asked to") -> None:
        if not self.stopping:
            print(f"stopping: {why}", file=sys.stderr, flush=True)
        self.stopping = True

    def _shutdown(self) -> None:
        path = os.path.join(self.folder, client.SOCKET_NAME)
        try:
            if os.path.samestat(os.lstat(path), self.bound):  # not a successor's socket
                os.unlink(path)
        except OSError:
            pass
        self.listener.close()
        for conn, fds in self.queue:
            conn.close()  # the caller runs the command in-process
            _close(fds)
        for pid in self.workers:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for pid in list(self.workers):
            while time.monotonic() < deadline:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    break
                time.sleep(0.02)
            else:
                _signal(pid, signal.SIGKILL)
                os.waitpid(pid, 0)


def _close(fds) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def _signal(pid: int, sig) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _listen(folder: str) -> socket.socket:
    """Bind the socket (0600 from the start) in place of a stale one."""
    path = os.path.join(folder, client.SOCKET_NAME)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    mask = os.umask(0o177)
    try:
        listener.bind(path)
    finally:
        os.umask(mask)
    os.chmod(path, 0o600)
    listener.listen(64)
    return listener


def main() -> int:
    """Serve until stopped or idle. Exit status 0, or 1 when the folder cannot be used,
    or 0 at once when another server holds the folder's lock."""
    folder = client.server_dir()
    why = client.prepare_folder(folder)
    if why:
        print(f"error: cannot use {folder} for the autodx server: {why}", file=sys.stderr)
        return 1
    lock = open(os.path.join(folder, client.LOCK_NAME), "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return 0  # another server is starting or running
    log = os.open(os.path.join(folder, LOG_NAME), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    supervisor = Supervisor(folder, _listen(folder))
    signal.signal(signal.SIGTERM, lambda *a: supervisor.stop("SIGTERM"))
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    supervisor.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
