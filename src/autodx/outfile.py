"""``--out`` writers: a temporary file in the target's folder, renamed onto the target
only when complete, so an interrupted or failed run leaves nothing behind."""
from __future__ import annotations

import json
import os
import tempfile

import numpy as np

from .errors import InputError

def write_atomic(path: str, write) -> None:
    """Call ``write(tmp_path)`` then rename onto ``path``; on any failure remove tmp."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"--out {path}: the folder {folder} does not exist")
    suffix = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(prefix=".autodx-", suffix=suffix, dir=folder)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


OUT_SUFFIXES = (".json", ".csv", ".npy", ".npz")


def check_out(path: str | None) -> None:
    """Reject an --out path with an unknown suffix before any work is done."""
    if path is None:
        return
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in OUT_SUFFIXES:
        raise InputError(f"--out {path}: unknown file type {suffix or '(none)'}; use one of "
                         f"{', '.join(OUT_SUFFIXES)}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"--out {path}: the folder {folder} does not exist")


def write_out(path: str, document, rows, arrays, main: str) -> None:
    """Write results to ``path`` by its suffix. ``document``, ``rows`` and ``arrays`` are
    callables, so only the form that is written is ever built: the JSON document, the
    CSV rows (an iterator), or the arrays (``.npy`` takes the one named ``main``)."""
    suffix = os.path.splitext(path)[1].lower()

    def write(tmp: str) -> None:
        if suffix == ".json":
            with open(tmp, "w") as f:
                json.dump(document(), f, indent=2, allow_nan=False)
                f.write("\n")
        elif suffix == ".csv":
            import csv

            with open(tmp, "w", newline="") as f:
                csv.writer(f, lineterminator="\n").writerows(rows())
        elif suffix == ".npy":
            with open(tmp, "wb") as f:
                np.save(f, arrays()[main])
        else:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays())
    write_atomic(path, write)
