"""Points: ``--at`` text and Python values -> arrays, checked against the expression.

Also the writers of ``--out`` files, which write to a temporary file in the target's
folder and rename it only when complete, so a failed run leaves nothing behind.
"""
from __future__ import annotations

import json
import math
import os
import re
import tempfile
from typing import Any, Iterable

import numpy as np

from .errors import InputError

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf|nan"
_NUMBER_RE = re.compile(rf"\s*(?:{_NUMBER})\s*", re.IGNORECASE)
_NAME_RE = re.compile(r"\s*([A-Za-z][A-Za-z0-9_]*)\s*=(.*)", re.DOTALL)

Point = dict  # variable name -> np.ndarray (0-d or 1-d)


def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def parse_value(text: str, where: str) -> np.ndarray:
    """``1.5`` -> 0-d array, ``[1, 2, 3]`` -> 1-d array; anything else is an InputError."""
    body = text.strip()
    if body.startswith("[") and body.endswith("]"):
        items = body[1:-1].split(",") if body[1:-1].strip() else []
        if not items:
            raise InputError(f"{where}: the vector {body} is empty")
        bad = [s for s in items if not _NUMBER_RE.fullmatch(s)]
        if bad:
            raise InputError(f"{where}: {bad[0].strip()!r} in {body} is not a number")
        return np.array([float(s) for s in items])
    if _NUMBER_RE.fullmatch(body):
        return np.array(float(body))
    raise InputError(f"{where}: {body!r} is not a number or a vector like [1,2,3]")


def parse_at(text: str) -> dict[str | None, np.ndarray]:
    """Parse one ``--at`` value: ``1.5``, ``[1,2]``, ``x=1,y=[1,2]``.

    A bare value is stored under the key None, to be given to the only variable.

    Example:
        >>> parse_at("theta=[0.1,-0.1,0],r=1")["theta"].tolist()
        [0.1, -0.1, 0.0]
    """
    where = f"--at {text!r}"
    if text.count("[") != text.count("]"):
        raise InputError(f"{where}: the brackets do not match")
    parts = _split_top(text)
    if len(parts) == 1 and not _NAME_RE.match(parts[0]):
        return {None: parse_value(parts[0], where)}
    out: dict[str | None, np.ndarray] = {}
    for part in parts:
        m = _NAME_RE.match(part)
        if m is None:
            raise InputError(f"{where}: {part.strip()!r} should look like NAME=VALUE; "
                             "a bare value is allowed only alone")
        name = m.group(1)
        if name in out:
            raise InputError(f"{where}: {name} is given twice")
        out[name] = parse_value(m.group(2), where)
    return out


def as_point(at: Any) -> dict[str | None, np.ndarray]:
    """A Python-API point (number, sequence, dict or ``--at`` text) in ``parse_at`` form."""
    if isinstance(at, str):
        return parse_at(at)
    if isinstance(at, dict):
        return {k: np.asarray(v, dtype=float) for k, v in at.items()}
    return {None: np.asarray(at, dtype=float)}


def check_point(raw: dict[str | None, np.ndarray], variables: Iterable[str],
                vectors: dict[str, str], where: str = "--at") -> Point:
    """Match a parsed point to the expression's variables; every error names the fix."""
    names = sorted(variables)
    point = dict(raw)
    if None in point:
        if len(names) != 1:
            listed = ", ".join(names) if names else "none"
            raise InputError(f"{where}: a bare value needs exactly one variable, but the "
                             f"expression has {len(names)} ({listed}); name them, as in "
                             f"--at {_example(names)}")
        point = {names[0]: point.pop(None)}
    extra = sorted(set(point) - set(names))
    if extra:
        raise InputError(f"{where}: {extra[0]} is not a variable of the expression "
                         f"(its variables: {', '.join(names) or 'none'})")
    missing = [n for n in names if n not in point]
    if missing:
        raise InputError(f"{where}: no value for {missing[0]}; give one, as in "
                         f"--at {_example(names)}")
    for name in names:
        value = point[name]
        if value.ndim == 0 and name in vectors:
            raise InputError(f"{where}: {name} is a vector ({vectors[name]}) but was given "
                             f"the number {value.item():g}; give a vector like [1,2,3]")
        if value.ndim > 1:
            raise InputError(f"{where}: {name} must be a number or a vector")
    return {n: point[n] for n in names}


def _example(names: list[str]) -> str:
    return ",".join(f"{n}=1" for n in names) if names else "x=1"


def coordinates(point: Point, wrt: list[str]) -> list[str]:
    """Labels of the differentiated coordinates: ``x``, ``z[0]``, ``z[1]``, ..."""
    labels: list[str] = []
    for name in wrt:
        value = point[name]
        labels += [name] if value.ndim == 0 else [f"{name}[{i}]" for i in range(value.size)]
    return labels


def to_jsonable(value: Any, warnings: list[str] | None = None, where: str = "") -> Any:
    """Floats and nested lists for JSON; a non-finite number becomes None plus a warning."""
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return [to_jsonable(v, warnings, where) for v in value]
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, warnings, where) for v in value]
    x = float(value)
    if math.isfinite(x):
        return x
    if warnings is not None:
        warnings.append(f"{where} is {x} (not finite)".strip())
    return None


# ---------------------------------------------------------------- --out writers

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


def write_out(path: str, document: dict, rows: list[list[str]], arrays: dict[str, np.ndarray]
              ) -> None:
    """Write results to ``path`` by its suffix: JSON document, CSV rows, or arrays."""
    suffix = os.path.splitext(path)[1].lower()

    def write(tmp: str) -> None:
        if suffix == ".json":
            with open(tmp, "w") as f:
                json.dump(document, f, indent=2, allow_nan=False)
                f.write("\n")
        elif suffix == ".csv":
            import csv

            with open(tmp, "w", newline="") as f:
                csv.writer(f).writerows(rows)
        elif suffix == ".npy":
            if len(arrays) != 1:
                raise InputError(f"--out {path}: these results are several arrays "
                                 f"({', '.join(arrays)}); use .npz")
            with open(tmp, "wb") as f:
                np.save(f, next(iter(arrays.values())))
        else:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)
    write_atomic(path, write)
