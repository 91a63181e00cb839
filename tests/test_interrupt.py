"""Ctrl-C, SIGTERM and SIGKILL: exit status 130, no traceback, no partial file, no
orphaned worker. Each case runs autodx in a process of its own and signals it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest


def _workers(mark: str) -> list[int]:
    """Live processes whose environment carries ``mark`` (the symbolic worker inherits
    the command's environment)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read()
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if mark.encode() in env and state != "Z":
            found.append(int(pid))
    return found


def _slow_check(tmp_path, mark: str) -> subprocess.Popen:
    """A command whose symbolic worker works for a long time (order 90 of a product)."""
    env = dict(os.environ, AUTODX_TEST_MARK=mark)
    return subprocess.Popen(
        [sys.executable, "-m", "autodx", "grad", "sin(x)*exp(x)/(1+x**2)", "--order", "90",
         "--at", "0.5", "--check", "--symbolic-timeout", "300", "--out",
         str(tmp_path / "r.json")], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)


def _wait_for_worker(mark: str, proc: subprocess.Popen) -> None:
    deadline = time.time() + 60
    while not [p for p in _workers(mark) if p != proc.pid]:
        assert proc.poll() is None and time.time() < deadline, "no worker started"
        time.sleep(0.1)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_ends_the_command_and_its_worker(tmp_path, sig):
    mark = f"interrupt-{sig}-{os.getpid()}-{time.time()}"
    proc = _slow_check(tmp_path, mark)
    _wait_for_worker(mark, proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert err == "error: interrupted\n" and out == ""
    time.sleep(0.3)
    assert _workers(mark) == []
    assert os.listdir(tmp_path) == []  # no result, no temporary file


def test_a_killed_command_takes_its_worker_with_it(tmp_path):
    mark = f"kill-{os.getpid()}-{time.time()}"
    proc = _slow_check(tmp_path, mark)
    _wait_for_worker(mark, proc)
    proc.kill()  # SIGKILL: the command cannot clean up after itself
    proc.communicate(timeout=30)
    deadline = time.time() + 5
    while _workers(mark) and time.time() < deadline:
        time.sleep(0.1)
    assert _workers(mark) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_file_being_written_is_removed(tmp_path, sig):
    code = textwrap.dedent(f"""
        import os, signal, time
        from autodx import interrupt
        path = {str(tmp_path / ".autodx-partial.csv")!r}
        with interrupt.handled(), interrupt.temporary(path):
            open(path, "w").write("half a result")
            os.kill(os.getpid(), {int(sig)})
            time.sleep(30)
        print("not reached")
    """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 130 and p.stderr == "error: interrupted\n" and p.stdout == ""
    assert os.listdir(tmp_path) == []


def test_signals_are_restored_after_a_command():
    from conftest import cli

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    assert cli("grad", "x", "--at", "1", "--format", "plain").code == 0
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
