"""``--out`` writers: a temporary file in the target's folder, renamed onto the target
only when complete, so an interrupted or failed run leaves nothing behind.

The file is what ``> FILE`` in a shell would give: a new file's mode follows the umask,
an existing file keeps its mode, and a symlink is written through to its target (the
link stays). The temporary file is created exclusively (``O_EXCL | O_NOFOLLOW``), so a
symlink planted at its name is never followed. Everything that can be checked about
the path is checked by :func:`check_out` before any work is done.
"""
from __future__ import annotations

import os
import stat

import numpy as np

from .errors import DataError, InputError
from .sources import check_name, shown, too_long

OUT_SUFFIXES = (".json", ".csv", ".npy", ".npz")
_TRIES = 100  # names tried for the temporary file, as tempfile.mkstemp does


def check_out(path: str | None, data: str | None = None,
              suffixes: tuple[str, ...] = OUT_SUFFIXES) -> None:
    """Reject an --out path that cannot be written, before any work is done.

    Args:
        path: the --out path, or None.
        data: the --data path, or None: --out must not name the same file.
        suffixes: the file types the command writes.

    Example:
        >>> check_out("results.json")
    """
    if path is None:
        return
    check_name(path, "--out")  # a NUL byte, a name over NAME_MAX or PATH_MAX
    if data and data != "-":
        check_name(data, "--data", DataError)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in suffixes:
        raise InputError(f"--out {path}: unknown file type {suffix or '(none)'}; use one of "
                         f"{', '.join(suffixes)}")
    target = os.path.realpath(path)
    folder = os.path.dirname(target)
    for name in (target, _temp_name(folder, suffix)):  # the names written, in full
        why = too_long(name)
        if why:
            raise InputError(f"--out {shown(path)}: written as {shown(name)}, {why}; use "
                             "a shorter name")
    if os.path.isdir(target):
        raise InputError(f"--out {path}: is a folder; name a file in it, as in "
                         f"--out {os.path.join(path, 'results' + suffix)}")
    if not os.path.isdir(folder):
        raise InputError(f"--out {path}: the folder {folder} does not exist")
    if os.path.exists(target) and not os.path.isfile(target):
        raise InputError(f"--out {path}: is not a regular file; name a file to write")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"--out {path}: the folder {folder} is not writable")
    if data and data != "-" and _same_file(path, data):
        raise InputError(f"--out {path}: is the --data file; writing the results there "
                         "would replace the input: name another file")


def _same_file(a: str, b: str) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:  # hard links and bind mounts: another name, the same file
        return os.path.samefile(a, b)
    except OSError:
        return False


def write_atomic(path: str, write) -> None:
    """Call ``write(tmp_path)`` then rename onto ``path``; on any failure remove tmp.

    A symlink at ``path`` is written through: the temporary file goes beside its target
    and replaces the target. An OSError (a full disk) becomes one InputError.
    """
    target = os.path.realpath(path)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise InputError(f"--out {path}: the folder {folder} does not exist")
    tmp = None
    try:
        tmp = _create_temp(folder, os.path.splitext(target)[1], _mode_of(target))
        write(tmp)
        os.replace(tmp, target)
    except BaseException as e:
        if tmp is not None and os.path.lexists(tmp):
            os.remove(tmp)
        if isinstance(e, OSError):
            raise InputError(f"--out {path}: cannot be written ({e.strerror or e}); "
                             "nothing was written") from None
        raise


def _mode_of(target: str) -> int | None:
    """An existing file's permission bits, kept by the file that replaces it."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode) & 0o777
    except OSError:
        return None


def _create_temp(folder: str, suffix: str, mode: int | None) -> str:
    """A new, empty file beside the target, created exclusively. Created with 0o666 the
    kernel applies the umask, as for any new file (mkstemp would make it 0600)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(_TRIES):
        tmp = _temp_name(folder, suffix)
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        try:
            if mode is not None:
                os.fchmod(fd, mode)
        except BaseException:
            os.close(fd)
            os.remove(tmp)
            raise
        os.close(fd)
        return tmp
    raise FileExistsError(f"no free temporary name in {folder}")


def _temp_name(folder: str, suffix: str) -> str:
    return os.path.join(folder, f".autodx-{os.urandom(6).hex()}{suffix}")


def _json(tmp: str, document, rows, arrays, main: str) -> None:
    from .jsontext import text_of

    text = text_of(document)
    with open(tmp, "w") as f:
        f.write(text + "\n")


def _csv(tmp: str, document, text, arrays, main: str) -> None:
    with open(tmp, "w", newline="") as f:
        f.writelines(text())


def _npy(tmp: str, document, rows, arrays, main: str) -> None:
    with open(tmp, "wb") as f:
        np.save(f, arrays()[main])


def _npz(tmp: str, document, rows, arrays, main: str) -> None:
    with open(tmp, "wb") as f:
        np.savez(f, **arrays())


WRITERS = {".json": _json, ".csv": _csv, ".npy": _npy, ".npz": _npz}
assert tuple(WRITERS) == OUT_SUFFIXES


def write_out(path: str, document, text, arrays, main: str) -> None:
    """Write results to ``path`` by its suffix. ``document``, ``text`` and ``arrays`` are
    callables, so only the form that is written is ever built: the JSON document, the
    CSV text (an iterator of blocks), or the arrays (``.npy`` takes the one named
    ``main``)."""
    writer = WRITERS[os.path.splitext(path)[1].lower()]
    write_atomic(path, lambda tmp: writer(tmp, document, text, arrays, main))
