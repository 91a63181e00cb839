"""A vector option (``--hvp``): ``[1,0,2]``, or a .npy, .csv or .txt file holding the
numbers, read with the same checks as ``--data`` files."""
from __future__ import annotations

import os

import numpy as np

from . import csvfiles, datafiles
from .data import parse_value
from .errors import InputError

MAX_VECTOR_TEXT = 256 << 20  # bytes of a vector given as text (--hvp FILE)


def read_vector(text: str, where: str) -> np.ndarray:
    """A vector option: ``[1,0,2]``, or a .npy, .csv or .txt file holding the numbers."""
    if text.strip().startswith("["):  # never a Range: one in brackets is refused
        return np.asarray(parse_value(text, where), dtype=float)
    if not os.path.lexists(text):
        raise InputError(f"{where} {text}: not a vector like [1,0,2], nor a file")
    datafiles.check_regular(text, where, InputError)  # never a FIFO, a device, a folder
    try:
        with open(datafiles.open_regular(text, where, InputError), "rb") as f:
            if text.lower().endswith(".npy"):
                value = np.load(f, allow_pickle=False)
            else:
                raw = f.read(MAX_VECTOR_TEXT + 1)
                if len(raw) > MAX_VECTOR_TEXT:
                    raise InputError(f"{where} {text}: over {MAX_VECTOR_TEXT >> 20} MiB of "
                                     "text; save a vector this long as .npy")
                items = raw.decode("utf-8-sig").replace(",", " ").split()
                bad = next((v for v in items if not csvfiles.is_number(v)), None)
                if bad is not None:  # quoted cut short: the file may hold anything
                    raise InputError(f"{where} {text}: {datafiles.quoted(bad)} is not a "
                                     "number")
                value = np.array([float(v) for v in items])
    except (OSError, UnicodeDecodeError, *datafiles.NPY_ERRORS) as e:
        raise InputError(f"{where} {text}: cannot be read as numbers "
                         f"({datafiles.reason(e)})") from None
    if value.ndim != 1 or value.size == 0 or value.dtype.kind not in "fiu":
        raise InputError(f"{where} {text}: needs a 1-D vector of numbers, got shape "
                         f"{value.shape}")
    return value.astype(float)
