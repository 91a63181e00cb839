"""Shared helpers: run the CLI the way a user does, and parse what it prints."""
from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys

import tempfile

import pytest
from typer.testing import CliRunner

# The suite's compile cache lives in a folder of its own, never the user's, and is
# removed when the suite ends: a run leaves nothing behind.
if "AUTODX_CACHE_DIR" not in os.environ:
    _CACHE = tempfile.mkdtemp(prefix="autodx-test-cache-")
    os.environ["AUTODX_CACHE_DIR"] = _CACHE
    atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)

import autodx.parse  # noqa: F401  (sets the recursion limit before hypothesis records it)
from autodx.cli import app

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Run:
    def __init__(self, code: int, stdout: str, stderr: str):
        self.code, self.stdout, self.stderr = code, stdout, stderr

    def json(self):
        assert self.code == 0, self.stderr
        return json.loads(self.stdout)

    def __repr__(self):
        return f"Run(code={self.code}, stdout={self.stdout[:200]!r}, stderr={self.stderr!r})"


def cli(*args: str, input: str | None = None) -> Run:
    """Run ``autodx ARGS`` in-process through typer's CliRunner."""
    result = CliRunner().invoke(app, list(args), input=input)
    return Run(result.exit_code, result.stdout, result.stderr)


def subprocess_cli(*args: str, env: dict | None = None) -> Run:
    """Run ``python -m autodx ARGS`` as a separate process, as a shell would."""
    full_env = dict(os.environ, **(env or {}))
    p = subprocess.run([sys.executable, "-m", "autodx", *args], capture_output=True,
                       text=True, env=full_env, timeout=300)
    return Run(p.returncode, p.stdout, p.stderr)


def assert_user_error(run: Run, *fragments: str) -> None:
    """Exit 2, nothing on stdout, exactly one ``error:`` line, no traceback."""
    assert run.code == 2, run
    assert run.stdout == "", run
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run
    assert "Traceback" not in run.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.fixture
def tmp_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path
