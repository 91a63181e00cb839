"""The persistent compile cache: used, reused, and never the reason a command fails.

Each case runs autodx in a fresh process, since the cache is configured when JAX is.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

ARGS = ["grad", "sin(x)*exp(x)", "--order", "5", "--at", "0.5", "--format", "plain"]


def run(cache: str | None, *, off: bool = False, prelude: str = "", args=ARGS,
        env_extra: dict | None = None, timeout: float = 300):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTODX_")}
    env.update(env_extra or {})
    if cache is not None:
        env["AUTODX_CACHE_DIR"] = cache
    if off:
        env["AUTODX_NO_CACHE"] = "1"
    code = (f"{prelude}\nimport sys\nfrom autodx.cli import main\n"
            f"sys.argv = ['autodx', *{list(args)!r}]\nmain()")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=timeout)


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
    stamps = {e: (os.stat(tmp_path / e).st_ino, (tmp_path / e).read_bytes()) for e in entries}
    again = run(str(tmp_path))
    assert again.returncode == 0 and again.stdout == expected and again.stderr == ""
    assert _entries(tmp_path) == entries  # hits: nothing new compiled and written
    assert {e: (os.stat(tmp_path / e).st_ino, (tmp_path / e).read_bytes())
            for e in entries} == stamps


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
    # simulated where autodx writes an entry: the file system answers ENOSPC
    prelude = ("import errno\n"
               "import autodx.progcache as pc\n"
               "def full(*a, **k):\n"
               "    raise OSError(errno.ENOSPC, 'No space left on device')\n"
               "pc._write = full")
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
    # (autodx does not use JAX's cache itself; a user may turn it on in the environment)
    import shutil

    jax_cache = {"JAX_COMPILATION_CACHE_DIR": str(tmp_path / "jax"),
                 "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
    assert run(str(tmp_path), env_extra=jax_cache).returncode == 0
    shutil.rmtree(tmp_path / "programs")
    for _ in range(2):
        p = run(str(tmp_path), env_extra=jax_cache)
        assert p.returncode == 0 and p.stdout == expected and p.stderr == "", p.stderr


# ---------------------------------------------------------------- a cache that cannot be trusted

def test_the_folder_is_private(tmp_path, expected):
    folder = tmp_path / "cache"
    assert run(str(folder)).returncode == 0
    assert os.stat(folder).st_mode & 0o777 == 0o700
    assert os.stat(folder / "programs").st_mode & 0o777 == 0o700
    for e in _entries(folder):
        assert os.stat(folder / e).st_mode & 0o077 == 0, e  # entries: the user's alone
    os.chmod(folder, 0o755)  # an older autodx made it readable: it is closed again
    assert run(str(folder)).stdout == expected
    assert os.stat(folder).st_mode & 0o777 == 0o700


@pytest.mark.parametrize("how", ["others can write", "another user owns it"])
def test_an_untrusted_folder_is_refused(tmp_path, expected, how):
    folder = tmp_path / "cache"
    folder.mkdir()
    prelude = ""
    if how == "others can write":
        os.chmod(folder, 0o777)
    else:  # seen from another user id than the folder's owner
        prelude = f"import os\nos.getuid = lambda: {os.getuid() + 4242}"
    p = run(str(folder), prelude=prelude)
    assert p.returncode == 0 and p.stdout == expected
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"warning: compile cache {folder} skipped")
    assert ("writable by other users" if how == "others can write" else "another user") \
        in lines[0]
    assert _entries(folder) == []  # nothing read, nothing written


def _one_entry(tmp_path, args=ARGS) -> str:
    assert run(str(tmp_path), args=args).returncode == 0
    (entry,) = [e for e in _entries(tmp_path) if e.endswith(".bin")]
    return str(tmp_path / entry)


@pytest.mark.parametrize("plant", ["fifo", "/dev/zero", "symlink to a file", "huge"])
def test_an_entry_that_is_not_a_plain_file_is_skipped(tmp_path, expected, plant):
    entry = _one_entry(tmp_path)
    os.remove(entry)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    if plant == "fifo":
        os.mkfifo(entry)  # reading it would wait forever
    elif plant == "/dev/zero":
        os.symlink("/dev/zero", entry)  # reading it would never end
    elif plant == "symlink to a file":
        os.symlink(victim, entry)  # writing through it would overwrite the victim
    else:
        with open(entry, "wb") as f:
            f.truncate(300 << 20)  # sparse: 300 MB that take no disk
    p = run(str(tmp_path), timeout=60)
    assert p.returncode == 0 and p.stdout == expected, p.stderr
    assert p.stderr.startswith("warning: compile cache entry") and "Traceback" not in p.stderr
    assert victim.read_text() == "keep me"
    assert os.path.isfile(entry) and not os.path.islink(entry)  # replaced by a program
    again = run(str(tmp_path))
    assert again.stdout == expected and again.stderr == ""


def test_an_entry_with_a_wrong_output_count_is_compiled_again(tmp_path, expected):
    entry = _one_entry(tmp_path)
    with open(entry, "rb") as f:
        blob = f.read()
    magic, header, payload = blob.split(b"\n", 2)
    import json

    head = json.loads(header)
    head["outputs"], head["paths"] = 1, head["paths"][:1]  # the program has more
    with open(entry, "wb") as f:
        f.write(magic + b"\n" + json.dumps(head).encode() + b"\n" + payload)
    p = run(str(tmp_path))
    assert p.returncode == 0 and p.stdout == expected, p.stderr
    assert p.stderr.startswith("warning: compile cache entry")


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "\"abc\"", "1e9", "null"])
def test_a_damaged_chunk_size_is_computed_again(tmp_path, value):
    data = tmp_path / "xy.csv"
    data.write_text("x,y\n" + "".join(f"{i},{2 * i}\n" for i in range(1, 8)))
    args = ["perex", "(w*x - y)**2", "--wrt", "w", "--at", "w=0.5", "--data", str(data),
            "--format", "csv"]
    first = run(str(tmp_path / "c"), args=args)
    assert first.returncode == 0
    (chunk,) = [e for e in _entries(tmp_path / "c") if e.endswith(".json")]
    (tmp_path / "c" / chunk).write_text('{"value": %s}' % value)
    p = run(str(tmp_path / "c"), args=args)
    assert p.returncode == 0 and p.stdout == first.stdout, p.stderr
    assert p.stdout.count("\n") == 8  # every row, none lost to a bad chunk size


# ---------------------------------------------------------------- its size, and autodx cache

def test_the_cache_keeps_to_its_size_bound(tmp_path, expected):
    other = ["grad", "sin(x)*exp(x)", "--order", "6", "--at", "0.5", "--format", "plain"]
    first = _one_entry(tmp_path)
    # room for about one program: storing the second removes the first (least recently
    # used), and the folder ends within the bound
    limit = os.path.getsize(first) * 1.2
    env = {"AUTODX_CACHE_MAX_MB": str(limit / (1 << 20))}
    assert run(str(tmp_path), args=other, env_extra=env).returncode == 0
    assert not os.path.exists(first)
    assert sum(os.path.getsize(tmp_path / e) for e in _entries(tmp_path)) <= limit
    p = run(str(tmp_path), env_extra={"AUTODX_CACHE_MAX_MB": "0"})
    assert p.stdout == expected and p.stderr == "" and _entries(tmp_path) == []


def test_cache_info_and_clear(tmp_path):
    from conftest import subprocess_cli

    env = {"AUTODX_CACHE_DIR": str(tmp_path / "c")}
    assert subprocess_cli("grad", "sin(x)", "--at", "1", env=env).code == 0
    info = subprocess_cli("cache", "info", env=env)
    assert info.code == 0
    assert f"folder: {tmp_path / 'c'}" in info.stdout and "state: in use" in info.stdout
    assert "entries: 1 " in info.stdout and "limit: 500.0 MB" in info.stdout
    (tmp_path / "c" / "mine.txt").write_text("not autodx's")
    cleared = subprocess_cli("cache", "clear", env=env)
    assert cleared.code == 0 and cleared.stdout.startswith("removed 1 entry")
    assert (tmp_path / "c" / "mine.txt").exists()  # nothing but autodx's entries
    assert "entries: 0 " in subprocess_cli("cache", "info", env=env).stdout
    off = subprocess_cli("cache", "info", env={**env, "AUTODX_NO_CACHE": "1"})
    assert "state: off" in off.stdout
    os.chmod(tmp_path / "c", 0o777)
    refused = subprocess_cli("cache", "clear", env=env)
    assert refused.code == 2 and refused.stderr.startswith("error: compile cache")


def test_a_flipped_bit_in_a_program_is_caught_by_its_checksum(tmp_path, expected):
    # a compiled program with one bit changed could abort XLA or compute wrong numbers
    entry = _one_entry(tmp_path)
    with open(entry, "rb") as f:
        blob = bytearray(f.read())
    blob[-100] ^= 0x01  # inside the serialized executable
    with open(entry, "wb") as f:
        f.write(bytes(blob))
    p = run(str(tmp_path))
    assert p.returncode == 0 and p.stdout == expected, p.stderr
    assert "does not match its checksum" in p.stderr
