"""``--distributed``: this process's place in a JAX distributed job over the rows of a
``--data`` file, and the parts the processes write and process 0 merges.

The job is formed by ``jax.distributed.initialize``, configured from the environment:
``AUTODX_COORDINATOR`` (host:port of process 0), ``AUTODX_NUM_PROCESSES`` and
``AUTODX_PROCESS_ID``, all three or none; with none, JAX's own detection (SLURM, Open
MPI, ..., or ``JAX_COORDINATOR_ADDRESS`` with a launcher's process count and id). The
membership lives in a process of its own (:mod:`autodx.jobmember`, which says why);
this module starts it and watches it.

Each process computes its share of the rows (:mod:`autodx.shares`) on its own devices
and writes it as a part, an ``.npz`` of its values and inputs, in a folder beside
``--out`` (which every process must reach: a shared file system); once every part is
in, process 0 reads them in order and writes ``--out`` as one process would. A process
that fails says so to the others at once; one that stops answering is noticed by JAX's
heartbeat within :data:`HEARTBEAT_SECONDS`, and every other process then ends with one
``error:`` line and exit status :data:`LOST`. No ``--out`` is left half-written, and
the parts are removed.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from typing import Any, Callable

import numpy as np

from .errors import AutodxError, InputError, Status

LOST = int(Status.LOST)  # a process of the job stopped answering, or ended first
HEARTBEAT_SECONDS = 20  # JAX's heartbeat: a silent process is given up after this
JOIN_SECONDS = 120  # how long process 0 waits for every process to join
MAX_PROCESSES = 1 << 16
ENV = ("AUTODX_COORDINATOR", "AUTODX_NUM_PROCESSES", "AUTODX_PROCESS_ID")


class JobError(AutodxError):
    """The job failed: another process's error, a lost process, or no job to join."""

    def __init__(self, message: str, status: int = LOST):
        super().__init__(message)
        self.status = status


def settings(env=None) -> dict:
    """``jax.distributed.initialize``'s arguments from the environment.

    Example:
        >>> settings({"AUTODX_COORDINATOR": "10.0.0.1:1234", "AUTODX_NUM_PROCESSES": "2",
        ...           "AUTODX_PROCESS_ID": "1"})["process_id"]
        1
    """
    env = os.environ if env is None else env
    given = {k: env[k].strip() for k in ENV if env.get(k, "").strip()}
    timing = {"heartbeat_timeout_seconds": HEARTBEAT_SECONDS,
              "initialization_timeout": JOIN_SECONDS,
              "shutdown_timeout_seconds": HEARTBEAT_SECONDS}
    if not given:
        return timing  # JAX's detection (SLURM, Open MPI, JAX_COORDINATOR_ADDRESS ...)
    if len(given) < len(ENV):
        missing = [k for k in ENV if k not in given]
        raise InputError(f"--distributed: {', '.join(given)} set but not "
                         f"{', '.join(missing)}; set all three, or none for JAX's "
                         "detection of the job (SLURM, Open MPI, ...)")
    count, me = (_integer(k, given[k]) for k in ENV[1:])
    if not 1 <= count <= MAX_PROCESSES or not 0 <= me < count:
        raise InputError(f"--distributed: AUTODX_PROCESS_ID={me} and AUTODX_NUM_PROCESSES="
                         f"{count}: the id must be from 0 to the count less one")
    if not re.fullmatch(r"[\w.\-\[\]:]+:\d{1,5}", given[ENV[0]]):
        raise InputError(f"--distributed: AUTODX_COORDINATOR={given[ENV[0]][:60]!r}: give "
                         "host:port of process 0, as in 10.0.0.1:7777")
    return {"coordinator_address": given[ENV[0]], "num_processes": count,
            "process_id": me, **timing}


def check_jax() -> None:
    """A job needs a JAX that lets the heartbeat be set (``heartbeat_timeout_seconds``):
    with an older one (0.5), a silent process is given up only after JAX's own 100 s and
    a job cannot be formed without every setting, so the promise that the others end
    within a minute could not be kept."""
    import inspect

    import jax

    if "heartbeat_timeout_seconds" not in inspect.signature(
            jax.distributed.initialize).parameters:
        raise InputError(f"--distributed needs a newer JAX than {jax.__version__} (one "
                         "whose jax.distributed.initialize takes heartbeat_timeout_seconds"
                         ", 0.6 or later): pip install -U jax jaxlib")


def _integer(name: str, text: str) -> int:
    if not text.isdigit() or len(text) > 9:
        raise InputError(f"--distributed: {name}={text[:20]!r} is not a whole number")
    return int(text)


class Job:
    """This process's member of the job (see :mod:`autodx.jobmember`)."""

    def __init__(self, cleanup: Callable[[], None] = lambda: None):
        self.cleanup = cleanup  # what a lost job removes before the process ends
        self.ending = False  # set once the member's end is expected
        self.index = self.count = 0
        self.token = ""
        self._news: list = []
        self._ready = threading.Condition()
        self._waiting = False  # whether the main thread waits for news
        self._settings = settings()  # checked before the member is started
        check_jax()
        self._log = tempfile.TemporaryFile()
        self._member = subprocess.Popen(
            [sys.executable, "-m", "autodx.jobmember"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._log, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def join(self) -> "Job":
        """Join the job: this process's id, the count, and the job's token."""
        self._send(self._settings)
        first = self._member.stdout.readline()
        try:
            said = json.loads(first) if first else {}
        except ValueError:
            said = {}
        if "joined" not in said:
            self.ending = True
            self._member.kill()
            self._member.wait()
            why = said.get("error") or _last_words(self._log) or "its process ended"
            for f in (self._member.stdin, self._member.stdout, self._log):
                f.close()
            raise JobError(f"--distributed: could not join the job ({why}); set "
                           f"{', '.join(ENV)}, or run under a launcher JAX detects "
                           "(SLURM, Open MPI, ...)", Status.USAGE)
        joined = said["joined"]
        self.index, self.count, self.token = joined["id"], joined["count"], joined["token"]
        self._watcher = threading.Thread(target=self._watch, name="autodx-job", daemon=True)
        self._watcher.start()
        return self

    # ------------------------------------------------------------ news

    def done(self, meta: dict) -> None:
        self._send({"done": meta})

    def failed(self, message: str, status: int) -> None:
        self.ending = True  # this process ends with its own error line
        self._send({"failed": {"message": message, "status": int(status)}})

    def parts(self) -> dict[int, dict]:
        """Every process's part; a JobError when one failed."""
        news = self._next()
        if "failed" in news:
            f = news["failed"]
            self.ending = True
            raise JobError(f"--distributed: process {f['id']} failed: {f['message']}",
                           f.get("status", LOST))
        if self.index == 0:
            self.ending = True  # the parts are in: the merge needs no one else
        return {int(k): v for k, v in news["parts"].items()}

    def verdict(self, status: int = 0, message: str = "") -> None:
        """Process 0: how the merge went, for every process's exit status."""
        self._send({"verdict": {"status": int(status), "message": message}})

    def wait_verdict(self) -> None:
        v = self._next()["verdict"]
        if v["status"]:
            raise JobError(f"--distributed: process 0 could not write the results: "
                           f"{v['message']}", v["status"])

    def close(self) -> None:
        """End the membership: together with the others after a verdict, else alone."""
        self.ending = True
        self._send({"bye": True})
        try:
            self._member.stdin.close()
            self._member.wait(timeout=HEARTBEAT_SECONDS + 10)
        except (OSError, subprocess.TimeoutExpired):
            self._member.kill()
            self._member.wait()
        self._watcher.join(timeout=5)
        self._log.close()

    # ------------------------------------------------------------ the member

    def _send(self, obj) -> None:
        try:
            self._member.stdin.write(json.dumps(obj) + "\n")
            self._member.stdin.flush()
        except (OSError, ValueError):
            pass  # the member is gone: its watcher says so

    def _next(self) -> dict:
        with self._ready:
            self._waiting = True
            while not self._news:
                self._ready.wait()
            self._waiting = False
            return self._news.pop(0)

    def _watch(self) -> None:
        for line in self._member.stdout:
            news = json.loads(line)
            with self._ready:
                if "failed" in news and not (self._waiting or self.ending):
                    f = news["failed"]  # while this process computes: no use going on
                    self._end(f"process {f['id']} failed: {f['message']}",
                              f.get("status", LOST))
                self._news.append(news)
                self._ready.notify()
        self._member.stdout.close()
        self._member.wait()
        if not self.ending:
            who = _silent(self._log)  # process 0 knows that it wrote nothing
            self._end(f"{f'process {who}' if who else 'a process'} stopped answering "
                      f"(JAX's heartbeat, {HEARTBEAT_SECONDS} s)"
                      + ("; no results were written" if self.index == 0 else ""), LOST)

    def _end(self, message: str, status: int) -> None:
        """The end of this process, from the watcher's thread (the main one may be in
        the middle of XLA's arithmetic for a long while): its part removed, one line."""
        try:
            self.cleanup()
        finally:
            if os.environ.get("AUTODX_DEBUG", "") not in ("", "0"):  # JAX's own words
                self._log.seek(0)
                sys.stderr.write(self._log.read().decode(errors="replace"))
            sys.stderr.write(f"error: --distributed: {message}\n")
            sys.stderr.flush()
            self._member.kill()
            os._exit(status)


def _last_words(log) -> str:
    log.seek(0)
    lines = [ln.strip() for ln in log.read().decode(errors="replace").splitlines()
             if ln.strip() and not ln.startswith((" ", "\t", "@", "***"))]
    return lines[-1][:200] if lines else ""


def _silent(log) -> str:
    """The ids of the processes JAX found silent, from the member's log."""
    try:
        log.seek(0)
        text = log.read().decode(errors="replace")
    except (OSError, ValueError):
        return ""
    m = re.search(r"stopped sending heartbeats\):\s*\n([\d\s,]+)\n", text)
    if m:
        return ", ".join(m.group(1).replace(",", " ").split())
    m = re.search(r"Task (\d+) heartbeat timeout", text)
    if m:
        return m.group(1)
    if re.search(r"Socket closed|Connection refused|failed to connect", text):
        return "0 (the coordinator)"
    return ""


# ---------------------------------------------------------------- parts

def folder(out: str, token: str) -> str:
    """The job's folder of parts, beside ``--out`` (hidden, named by the job)."""
    where, name = os.path.split(os.path.abspath(out))
    return os.path.join(where, f".{name}.autodx-parts-{token}")


def leaves(tree, path=()) -> list[tuple[tuple, Any]]:
    """The arrays of a nested dict of them, with their key paths, in a fixed order."""
    if isinstance(tree, dict):
        return [leaf for k in sorted(tree, key=repr) for leaf in leaves(tree[k], (*path, k))]
    return [(path, tree)]


def _rebuild(leaves: list[tuple[tuple, Any]]) -> dict:
    out: dict = {}
    for path, value in leaves:
        node = out
        for k in path[:-1]:
            node = node.setdefault(k, {})
        node[path[-1]] = value
    return out


def write_part(where: str, index: int, result) -> dict:
    """This process's values (and inputs, where kept) as ``part-INDEX.npz`` in
    ``where``, whole or not at all; its news for the others."""
    name = f"part-{index}.npz"
    if result is None:
        return {"rows": 0, "file": None, "notes": []}
    arrays = {f"v{i}": np.asarray(v) for i, (_, v) in enumerate(leaves(result.values))}
    if result.rows.batched is not None:
        arrays.update({f"b{k}": np.asarray(v) for k, v in result.rows.batched.items()})
    tmp = os.path.join(where, f".{name}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, os.path.join(where, name))
    except BaseException:
        _remove(tmp)
        raise
    return {"rows": int(result.rows.count), "file": name, "notes": list(result.notes)}


def merge(first, where: str, parts: dict[int, dict]):
    """Process 0's result (``first``, of share 0) with every other part after it, in
    process order: the result one process would have."""
    from dataclasses import replace

    held = leaves(first.values)
    values = [[np.asarray(v)] for _, v in held]
    batched = None if first.rows.batched is None else \
        {k: [np.asarray(v)] for k, v in first.rows.batched.items()}
    notes = list(first.notes)
    for i in sorted(parts)[1:]:
        part = parts[i]
        notes += [n for n in part["notes"] if n not in notes]
        if not part["file"]:
            continue
        with np.load(os.path.join(where, part["file"]), allow_pickle=False) as z:
            for j, column in enumerate(values):
                column.append(z[f"v{j}"])
            for k, column in (batched or {}).items():
                column.append(z[f"b{k}"])
    total = sum(p["rows"] for p in parts.values())
    rows = replace(first.rows, count=total, batched=None if batched is None else
                   {k: np.concatenate(v) for k, v in batched.items()})
    merged = _rebuild([(path, np.concatenate(column))
                       for (path, _), column in zip(held, values)])
    return replace(first, rows=rows, values=merged, notes=notes)


def clean(where: str, index: int) -> None:
    """Remove what this process wrote: process 0, the whole folder of parts; another,
    its part (and the folder, if nothing else is left in it)."""
    if index == 0:
        shutil.rmtree(where, ignore_errors=True)
        return
    for name in (f"part-{index}.npz", f".part-{index}.npz.tmp"):
        _remove(os.path.join(where, name))
    try:
        os.rmdir(where)
    except OSError:
        pass


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
