"""The CLI's output module: the progress bar (the formats are tested through the
commands, in test_cli.py and test_render.py)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from autodx.cli import output


def test_progress_bar_only_on_a_terminal_after_a_moment(monkeypatch):
    class TTY:
        def isatty(self):
            return True

        def write(self, text):
            return len(text)

        def flush(self):
            pass
    monkeypatch.setattr(output.sys, "stderr", TTY())
    monkeypatch.delenv("CI", raising=False)
    clock = iter([0.1, 0.2, 1.0, 1.1])
    with output.Progress() as progress:
        progress.clock = lambda: next(clock)
        progress.start = 0.0
        progress(10, 100)            # 0.1 s: too soon, nothing shown
        assert progress.bar is None
        progress(10, 100)            # 0.2 s
        progress(10, 100)            # 1.0 s: the bar starts
        assert progress.bar is not None
    monkeypatch.setenv("CI", "true")
    assert not output.Progress().enabled


# ---------------------------------------------------------------- stdout that cannot take it

def _shell(command: str, tmp_path) -> subprocess.CompletedProcess:
    """A bash line with ``A`` standing for the autodx command."""
    return subprocess.run(["bash", "-c", f"A='{sys.executable} -m autodx'; {command}"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)


@pytest.fixture
def rows(tmp_path):
    (tmp_path / "xs.csv").write_text("x\n" + "".join(f"{i}\n" for i in range(100_000)))
    return "xs.csv"


@pytest.mark.parametrize("fmt", ["csv", "plain", "json", "table"])
def test_a_closed_pipe_is_not_an_error(tmp_path, rows, fmt):
    # far more output than a pipe holds: the writer meets the closed pipe
    p = _shell(f"$A grad 'x**2' --data {rows} --format {fmt} | head -1; "
               "echo status ${PIPESTATUS[0]}", tmp_path)
    assert p.stdout.splitlines()[-1] == "status 0" and p.stderr == "", p


def test_help_into_a_closed_pipe(tmp_path):
    p = _shell("$A --help | head -1 >/dev/null; echo status ${PIPESTATUS[0]}; "
               "$A grad --help | head -1 >/dev/null; echo status ${PIPESTATUS[0]}", tmp_path)
    assert p.stdout.split() == ["status", "0", "status", "0"] and p.stderr == "", p


@pytest.mark.parametrize("where, message", [
    (">&-", "error: standard output is closed"),
    (">/dev/full", "error: cannot write the results to standard output: No space left"),
])
def test_stdout_that_cannot_take_the_results(tmp_path, where, message):
    p = _shell(f"$A grad 'x**2' --at 1 --format csv {where}", tmp_path)
    assert p.returncode == 2 and p.stderr.startswith(message), p
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr


def test_bare_commands_print_help_without_an_error(tmp_path):
    p = _shell("$A; echo status $?; $A cache; echo status $?", tmp_path)
    assert "Usage: autodx" in p.stdout and "error" not in p.stderr, p
    assert p.stdout.count("status 0") == 2
