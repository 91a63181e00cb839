"""The compile cache's folder: where it is, whether it can be trusted, and its size.

A cache entry is a compiled program that JAX loads and runs (its loader unpickles
parts of it), so whoever can write the folder can run code as the user. The folder is
treated like ``~/.ssh``: autodx makes it ``0700``, and refuses (one warning, then no
cache) a folder that another user owns or that group or others may write. Entries are
read only when they are regular files of a sane size (never a FIFO, a device or a
symlink), written to a fresh temporary file (``mkstemp``: exclusive, never following
a planted link) and renamed into place, and the folder is kept under a size bound,
least recently used out. Imports nothing heavy, so ``autodx cache`` stays fast.
"""
from __future__ import annotations

import os
import stat
import tempfile

from . import interrupt

DEFAULT_MAX_MB = 500
MAX_ENTRY_BYTES = 256 << 20  # a compiled program of autodx is a few MB at most
SUFFIXES = (".bin", ".json")


def folder() -> str | None:
    """The cache folder asked for, or None when the cache is off (AUTODX_NO_CACHE)."""
    if os.environ.get("AUTODX_NO_CACHE", "") not in ("", "0"):
        return None
    return os.environ.get("AUTODX_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "autodx")


def programs(base: str) -> str:
    return os.path.join(base, "programs")


def prepare(base: str) -> str | None:
    """Make ``base`` and its ``programs`` folder (0700) if needed; the reason it cannot
    be used, or None when it can."""
    for path in (base, programs(base)):
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
            info = os.lstat(path)
        except OSError as e:
            return e.strerror or str(e)
        why = _untrusted(path, info)
        if why:
            return why
        if stat.S_IMODE(info.st_mode) & 0o077:
            try:
                os.chmod(path, 0o700)  # ours, but readable by others: close it
            except OSError as e:
                return e.strerror or str(e)
        if not os.access(path, os.W_OK | os.X_OK):
            return "not writable"
    return None


def _untrusted(path: str, info: os.stat_result) -> str | None:
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        return "not a folder (a symlink or a file)"
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return f"owned by another user (uid {info.st_uid})"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return "writable by other users, so its programs cannot be trusted"
    return None


def read(path: str) -> bytes | None:
    """An entry's bytes; None when there is none. Raises ValueError when the path is not
    a regular file of at most :data:`MAX_ENTRY_BYTES` (a FIFO, a device, a symlink)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) |
                     getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as e:  # ELOOP: a symlink
        raise ValueError(f"cannot be opened as a plain file ({e.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file")
        if info.st_size > MAX_ENTRY_BYTES:
            raise ValueError(f"{info.st_size:,} bytes, over the {MAX_ENTRY_BYTES:,} limit")
        return f.read(MAX_ENTRY_BYTES + 1)


def write(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all: a fresh temporary file in the
    same folder (created exclusively, mode 0600), renamed onto ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
    try:
        with interrupt.temporary(tmp), os.fdopen(fd, "wb") as f:
            f.write(data)
            f.close()
            os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


def touch(path: str) -> None:
    """Mark an entry as just used (the size bound removes the least recently used)."""
    try:
        os.utime(path)
    except OSError:
        pass


def max_bytes() -> int:
    """The size bound: ``AUTODX_CACHE_MAX_MB`` megabytes (default 500; 0 keeps none)."""
    text = os.environ.get("AUTODX_CACHE_MAX_MB", "")
    try:
        mb = float(text) if text else DEFAULT_MAX_MB
    except ValueError:
        mb = DEFAULT_MAX_MB
    if not (0 <= mb < 1e12):  # nan, inf, negative: the default
        mb = DEFAULT_MAX_MB
    return int(mb * (1 << 20))


def entries(base: str) -> list[tuple[str, int, float]]:
    """(path, bytes, last use) of every entry, oldest first."""
    found = []
    try:
        names = os.listdir(programs(base))
    except OSError:
        return []
    for name in names:
        path = os.path.join(programs(base), name)
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode):
            found.append((path, info.st_size, info.st_mtime))
    return sorted(found, key=lambda e: e[2])


def trim(base: str, limit: int | None = None) -> int:
    """Remove the least recently used entries until the folder is within the bound;
    returns how many were removed."""
    limit = max_bytes() if limit is None else limit
    found = entries(base)
    total = sum(size for _, size, _ in found)
    removed = 0
    for path, size, _ in found:
        if total <= limit:
            break
        try:
            os.remove(path)
        except OSError:
            continue
        total -= size
        removed += 1
    return removed


def clear(base: str) -> tuple[int, int]:
    """Remove every entry autodx wrote (and nothing else); (files, bytes) removed."""
    count = size = 0
    for path, n, _ in entries(base):
        name = os.path.basename(path)
        if name.endswith(SUFFIXES) or name.startswith(".tmp-"):
            try:
                os.remove(path)
            except OSError:
                continue
            count, size = count + 1, size + n
    return count, size


def describe(base: str | None) -> dict:
    """What ``autodx cache info`` shows, without creating anything."""
    limit = max_bytes()
    if base is None:
        return {"folder": None, "state": "off (AUTODX_NO_CACHE is set)", "entries": 0,
                "bytes": 0, "limit_bytes": limit}
    state = "in use"
    try:
        why = _untrusted(base, os.lstat(base))
        if why is None and os.path.isdir(programs(base)):
            why = _untrusted(programs(base), os.lstat(programs(base)))
        if why:
            state = f"refused: {why}"
    except FileNotFoundError:
        state = "not created yet"
    except OSError as e:
        state = f"unusable: {e.strerror or e}"
    found = entries(base) if state == "in use" else []
    return {"folder": base, "state": state, "entries": len(found),
            "bytes": sum(size for _, size, _ in found), "limit_bytes": limit}
