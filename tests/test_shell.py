"""``autodx shell``: each line a command as typed after ``autodx``; errors print their
``error:`` line and the session goes on; ``help`` and ``exit``."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from autodx.cli import shell


def run_lines(capsys, *lines):
    status = shell.loop(iter(lines))
    out = capsys.readouterr()
    return status, out.out, out.err


@pytest.fixture(autouse=True)
def _in_process(monkeypatch):
    monkeypatch.setenv("AUTODX_SERVER", "off")


def test_each_line_is_a_command(capsys):
    status, out, err = run_lines(capsys, 'grad "x**3" --order 2 --at 2 --format plain',
                                 "autodx grad 'sin(x)' --at 0 --format plain")
    assert status == 0 and err == ""
    assert [float(v) for v in out.split()] == [12.0, 12.0, 1.0]


def test_an_error_prints_its_line_and_the_session_goes_on(capsys):
    status, out, err = run_lines(capsys, 'grad "x +" --at 1',
                                 'grad "x**2" --at 3 --format plain')
    assert err.startswith("error: ") and len(err.splitlines()) == 1
    assert out.split() == ["6"] and status == 0


def test_exit_ends_the_session(capsys):
    _, out, _ = run_lines(capsys, "exit", 'grad "x**2" --at 3 --format plain')
    assert out == ""


def test_help_lists_the_commands_and_help_command_shows_one(capsys):
    _, out, _ = run_lines(capsys, "help", "help grad")
    assert "grad" in out and "hessian" in out and "--order" in out


@pytest.mark.parametrize("line, error", [('grad "x', "quotation"), ("shell", "already")])
def test_lines_that_cannot_run(capsys, line, error):
    status, out, err = run_lines(capsys, line)
    assert status == 2 and out == "" and err.startswith("error: ") and error in err


def test_blank_lines_and_comments_are_skipped(capsys):
    status, out, err = run_lines(capsys, "", "   ", "# a note")
    assert (status, out, err) == (0, "", "")


def test_words_of_a_line():
    assert shell.words_of("autodx grad 'x*y' --at x=1,y=2") == \
        ["grad", "x*y", "--at", "x=1,y=2"]
    assert isinstance(shell.words_of("grad 'x"), str)


def test_a_real_session_from_a_pipe(tmp_path):
    env = dict(os.environ, AUTODX_SERVER="off", XDG_STATE_HOME=str(tmp_path))
    p = subprocess.run([sys.executable, "-m", "autodx", "shell"], input=(
        'grad "x**2" --at 3 --format plain\ngrad "x +" --at 1\n'
        'grad "x**3" --at 1 --format plain\nexit\n'), capture_output=True, text=True,
        env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["6", "3"]
    assert p.stderr.count("error: ") == 1
