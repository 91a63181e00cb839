"""The persistent compile cache: used, reused, and never the reason a command fails.

Each case runs autodx in a fresh process, since the cache is configured when JAX is.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

ARGS = ["grad", "sin(x)*exp(x)", "--order", "5", "--at", "0.5", "--format", "plain"]


def run(cache: str | None, *, off: bool = False, prelude: str = ""):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTODX_")}
    if cache is not None:
        env["AUTODX_CACHE_DIR"] = cache
    if off:
        env["AUTODX_NO_CACHE"] = "1"
    code = (f"{prelude}\nimport sys\nfrom autodx.cli import main\n"
            f"sys.argv = ['autodx', *{ARGS!r}]\nmain()")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=300)


@pytest.fixture(scope="module")
def expected(tmp_path_factory):
    p = run(None, off=True)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    return p.stdout


def _entries(folder) -> list[str]:
    """Every file in the cache folder, JAX's entries and autodx's programs alike."""
    found = []
    for root, _, files in os.walk(folder):
        found += [os.path.relpath(os.path.join(root, f), folder) for f in files]
    return sorted(found)


def test_a_repeated_command_reuses_the_cache(tmp_path, expected):
    first = run(str(tmp_path))
    assert first.returncode == 0 and first.stdout == expected and first.stderr == ""
    entries = _entries(tmp_path)
    assert entries, "nothing was cached"
    assert any(e.startswith("programs") for e in entries)  # the whole-program cache too
    stamps = {e: os.path.getmtime(tmp_path / e) for e in entries}
    again = run(str(tmp_path))
    assert again.returncode == 0 and again.stdout == expected and again.stderr == ""
    assert _entries(tmp_path) == entries  # hits: nothing new compiled and written
    assert {e: os.path.getmtime(tmp_path / e) for e in entries} == stamps


def test_no_cache_writes_nothing(tmp_path, expected):
    p = run(str(tmp_path), off=True)
    assert p.returncode == 0 and p.stdout == expected
    assert _entries(tmp_path) == []


def test_the_default_folder_is_under_the_user_cache(tmp_path, expected, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    p = run(None)
    assert p.returncode == 0 and p.stdout == expected
    assert _entries(tmp_path / "autodx")


@pytest.mark.parametrize("where", ["file", "proc"])
def test_an_unwritable_cache_folder_is_skipped_with_a_warning(tmp_path, expected, where):
    if where == "file":  # a file where the folder should be: it cannot be created
        (tmp_path / "blocker").write_text("x")
        folder = str(tmp_path / "blocker" / "cache")
    else:  # a read-only file system, even for root
        folder = "/proc/autodx-cache"
    p = run(folder)
    assert p.returncode == 0 and p.stdout == expected
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: compile cache"), p.stderr


def test_a_read_only_folder_that_exists(expected):
    # /proc exists and cannot take files, whoever runs the test
    p = run("/proc")
    assert p.returncode == 0 and p.stdout == expected
    assert all(line.startswith("warning:") for line in p.stderr.splitlines()), p.stderr
    assert "Traceback" not in p.stderr


def test_damaged_entries_are_skipped(tmp_path, expected):
    assert run(str(tmp_path)).returncode == 0
    for name in _entries(tmp_path):
        (tmp_path / name).write_bytes(b"\x00garbage, not a compiled program")
    p = run(str(tmp_path))
    assert p.returncode == 0 and p.stdout == expected
    assert p.stderr.startswith("warning:") and "Traceback" not in p.stderr
    assert "compile cache entry" in p.stderr  # autodx's own program entry was damaged too


def test_a_full_disk_is_skipped(tmp_path, expected):
    # simulated where JAX and autodx write an entry: the file system answers ENOSPC
    prelude = ("import errno\nimport jax._src.lru_cache as lru\n"
               "import autodx.progcache as pc\n"
               "def full(*a, **k):\n"
               "    raise OSError(errno.ENOSPC, 'No space left on device')\n"
               "lru.LRUCache.put = full\npc._write = full")
    p = run(str(tmp_path), prelude=prelude)
    assert p.returncode == 0 and p.stdout == expected
    assert "No space left on device" in p.stderr and p.stderr.startswith("warning:")
    assert _entries(tmp_path) == []


def test_a_warm_program_is_loaded_without_tracing(tmp_path, expected):
    assert run(str(tmp_path)).returncode == 0
    # if anything traced the expression again, this would fail the command
    prelude = ("import autodx.taylor as t\n"
               "def traced(*a, **k):\n"
               "    raise RuntimeError('the program was traced again')\n"
               "t.taylor_coefficients = traced")
    p = run(str(tmp_path), prelude=prelude)
    assert p.returncode == 0 and p.stdout == expected, p.stderr
    cold = run(str(tmp_path / "elsewhere"), prelude=prelude)
    assert cold.returncode == 1 and "traced again" in cold.stderr  # the check can fail


def test_a_program_first_found_in_jaxs_cache_is_stored_runnable(tmp_path, expected):
    # JAX's cache has the program, autodx's does not: the program autodx stores must
    # still run when loaded (an executable loaded from JAX's cache does not serialize
    # into one that runs, so autodx compiles afresh before storing)
    import shutil

    assert run(str(tmp_path)).returncode == 0
    shutil.rmtree(tmp_path / "programs")
    for _ in range(2):
        p = run(str(tmp_path))
        assert p.returncode == 0 and p.stdout == expected and p.stderr == "", p.stderr
