"""``data=`` from Python: arrays in memory -> the same :class:`autodx.data.DataPlan` a
``--data`` file gives, so the executor cannot tell them apart.

What ``data=`` takes besides a path:

- a dict of arrays: ``{"x": xs, "z": zs}``, name -> 1-D array (a number per row) or
  2-D array (rows x length, a vector per row); keys ``z[0]``, ``z[1]`` give a vector's
  entries as columns, as a CSV header does;
- a 2-D array: the columns are the variables that ``at=`` does not give, in coordinate
  order (natural name order, a vector's entries in index order); a 1-D array is the
  rows of the one variable needed;
- a pandas DataFrame (anything with ``columns`` and ``to_numpy``; pandas itself is
  never imported): columns named like a CSV header (``x``, ``z[0]``, ``z[1]``);
  columns that are not variables are left out with one warning, as in a CSV file.

The checks are a file's: every name a variable, every column numbers (``nan`` and
``inf`` are numbers, as in a file), the same number of rows everywhere, at least one.

Example:
    >>> plan = data_plan(["x", "y"], {}, [], {"x": [1.0, 2.0], "y": [3.0, 4.0]})
    >>> plan.layout, plan.total
    ({'x': None, 'y': None}, 2)
    >>> next(plan.chunks(10))["y"].tolist()
    [3.0, 4.0]
"""
from __future__ import annotations

import os
import re
import warnings
from typing import Any, Iterable, Iterator, Mapping, Protocol, Sequence, Union

import numpy as np

from .errors import InputError
from .limits import natural
from .sources import DataWarning, Source, clip, quoted, reason

_COLUMN = re.compile(r"([A-Za-z][A-Za-z0-9_]*)(?:\[(\d{1,9})\])?")


class FrameLike(Protocol):
    """What autodx reads of a pandas DataFrame: its column labels and their values."""

    @property
    def columns(self) -> Iterable[Any]: ...

    def to_numpy(self) -> Any: ...

    def __getitem__(self, column: Any) -> Any: ...


Data = Union[str, os.PathLike[str], Mapping[str, Any], np.ndarray, FrameLike,
             Sequence[Sequence[float]]]
"""What ``data=`` takes: a path, a dict of arrays, a 2-D array, or a DataFrame."""


def is_frame(obj: object) -> bool:
    """A DataFrame, by what it does (pandas is not a dependency, never imported)."""
    return hasattr(obj, "to_numpy") and hasattr(obj, "columns") and not isinstance(obj, Mapping)


def data_plan(variables: list[str], vectors: dict[str, str], ats: Sequence[Any],
              data: Any):
    """The plan of rows held in memory by ``data``; ``ats`` give the shared values."""
    from .data import DataPlan

    fixed = _fixed(variables, vectors, ats)
    needed = sorted((v for v in variables if v not in fixed), key=natural)
    if not needed:
        raise InputError("data=: at= already gives every variable, so there is nothing to "
                         "read from the data")
    if is_frame(data):
        source = _frame(data, needed, vectors, fixed)
    elif isinstance(data, Mapping):
        source = _mapping(data, needed, vectors, fixed)
    else:
        source = _matrix(data, needed, vectors)
    layout = {**{k: (None if v.ndim == 0 else v.shape[0]) for k, v in fixed.items()},
              **source.layout}
    return DataPlan(layout, fixed, source=source, total=source.total)


def _fixed(variables: list[str], vectors: dict[str, str], ats: Sequence[Any]) -> dict:
    """The values ``at=`` gives every row, checked as ``--at`` is beside ``--data``."""
    from .data import Range, as_point

    fixed: dict[str, np.ndarray] = {}
    for at in ats:
        for name, value in as_point(at).items():
            if isinstance(value, Range):
                raise InputError(f"at=: {name or ''}{'=' * bool(name)}{value}: with data= "
                                 "the rows come from the data, and a range makes points "
                                 "of its own: give one value, shared by every row")
            if name is None:
                raise InputError("with data=, name the at= values (a dict, or NAME=VALUE "
                                 "text): a bare value is ambiguous")
            if name in fixed:
                raise InputError(f"at=: {name} is given twice")
            if name not in variables:
                raise InputError(f"at=: {name} is not a variable of the expression (its "
                                 f"variables: {', '.join(variables)})")
            if value.ndim > 1 or (value.ndim == 0 and name in vectors):
                raise InputError(f"at=: {name} must be "
                                 + (f"a vector ({vectors[name]})" if name in vectors else
                                    "a number or a vector") + ", the same for every row")
            fixed[name] = value
    return fixed


# ---------------------------------------------------------------- the three shapes

def _mapping(data: Mapping, needed: list[str], vectors: dict[str, str],
             fixed: dict) -> Source:
    columns = {}
    for key, value in data.items():
        if not isinstance(key, str):
            raise InputError(f"data=: the key {clip(repr(key))} is not a variable name")
        columns[key] = _numbers(f"data=: {quoted(key)}", value)
    return _by_name(columns, needed, vectors, fixed)


def _frame(frame: FrameLike, needed: list[str], vectors: dict[str, str],
           fixed: dict) -> Source:
    labels = [str(c) for c in frame.columns]
    if len(set(labels)) != len(labels):
        twice = next(c for c in labels if labels.count(c) > 1)
        raise InputError(f"data=: the DataFrame has two columns {quoted(twice)}")
    columns, ignored = {}, []
    for c, label in zip(frame.columns, labels):
        if _variable(label) not in needed and _variable(label) not in fixed:
            ignored.append(label)
            continue
        values = frame[c]  # one column at a time: a frame of mixed types is not copied
        values = values.to_numpy() if hasattr(values, "to_numpy") else values
        columns[label] = _numbers(f"data=: the column {quoted(label)}", values)
    source = _by_name(columns, needed, vectors, fixed)
    if ignored:
        shown = ", ".join(quoted(c, 24) for c in ignored[:5]) + \
            (f" and {len(ignored) - 5:,} more" if len(ignored) > 5 else "")
        many = "s" if len(ignored) > 1 else ""
        warnings.warn(DataWarning(f"data=: ignored the DataFrame column{many} {shown}: not "
                                  f"variables of the expression (it needs: "
                                  f"{', '.join(needed)})"), stacklevel=5)
    return source


def _matrix(data: Any, needed: list[str], vectors: dict[str, str]) -> Source:
    table = _numbers("data=", data)
    if table.ndim == 1:
        if len(needed) != 1 or needed[0] in vectors:
            raise InputError("data=: a 1-D array gives one number per row, for one number "
                             "variable; give a 2-D array (rows x columns), the columns in "
                             f"the order {', '.join(needed)}")
        table = table[:, None]
    if table.ndim != 2:
        raise InputError(f"data=: an array of shape {table.shape}; give a 2-D array "
                         "(rows x columns), or a dict of arrays by name")
    width = table.shape[1]
    open_ = [n for n in needed if n in vectors or (len(needed) == 1 and width > 1)]
    if len(open_) > 1:
        raise InputError(f"data=: the columns of one array cannot say how long the vectors "
                         f"{' and '.join(open_[:2])} are; give a dict, as in "
                         f"data={{{quoted(open_[0])}: ..., {quoted(open_[1])}: ...}}")
    spare = width - (len(needed) - len(open_))
    if spare < (1 if open_ else 0) or (not open_ and spare != 0):
        raise InputError(f"data=: {width} columns, but the variables it must give ("
                         f"{', '.join(needed)}) take {len(needed)}"
                         + (" or more" if open_ else "") + "; columns follow that order")
    layout, arrays, start = {}, {}, 0
    for name in needed:
        size = spare if name in open_ else None
        layout[name] = size
        arrays[name] = table[:, start] if size is None else table[:, start:start + size]
        start += size or 1
    return _source(layout, arrays)


def _by_name(columns: dict, needed: list[str], vectors: dict[str, str],
             fixed: dict) -> Source:
    """Arrays and ``z[i]`` columns -> one array per variable, checked like a header."""
    parts: dict[str, dict[int | None, np.ndarray]] = {}
    for key, value in columns.items():
        m = _COLUMN.fullmatch(key)
        name = m.group(1) if m else key
        if m is None or (name not in needed and name not in fixed):
            raise InputError(f"data=: {quoted(key)} is not a variable of the expression "
                             f"(it needs: {', '.join(needed)})")
        if name in fixed:
            raise InputError(f"data=: {name} is given by at= too; give it in one place")
        index = None if m.group(2) is None else int(m.group(2))
        slots = parts.setdefault(name, {})
        if (index is None and slots) or None in slots or (index is not None and value.ndim != 1):
            raise InputError(f"data=: {quoted(key)} repeats or mixes a scalar and a vector "
                             f"{name}" + ("" if index is None else
                                          "; an entry's column is 1-D, a number per row"))
        slots[index] = value
    missing = [n for n in needed if n not in parts]
    if missing:
        raise InputError(f"data=: no values for {missing[0]}, and at= does not give it")
    layout, arrays = {}, {}
    for name in needed:
        layout[name], arrays[name] = _assemble(name, parts[name], vectors)
    return _source(layout, arrays)


def _assemble(name: str, slots: dict, vectors: dict[str, str]):
    if None not in slots:
        n = len(slots)
        if sorted(slots) != list(range(n)):
            gap = min(set(range(n)) - set(slots))
            raise InputError(f"data=: vector {name} has no column {name}[{gap}]")
        return n, _stack([slots[i] for i in range(n)])
    value = slots[None]
    if value.ndim == 1:
        if name in vectors:
            raise InputError(f"data=: {name} is a vector ({vectors[name]}), so it needs a "
                             f"2-D array (rows x length), or columns {name}[0], {name}[1], ...")
        return None, value
    if value.ndim == 2:
        if value.shape[1] == 1 and name not in vectors:
            return None, value[:, 0]
        return value.shape[1], value
    shared = "; a value every row shares goes in at=" if value.ndim == 0 else ""
    raise InputError(f"data=: {name} has shape {value.shape}; use 1-D (a number per row) or "
                     f"2-D (a vector per row){shared}")


def _stack(columns: list[np.ndarray]) -> np.ndarray:
    if len({len(c) for c in columns}) != 1:
        raise InputError("data=: the columns of one vector have different numbers of rows")
    return np.stack(columns, axis=1)


def _numbers(where: str, value: Any) -> np.ndarray:
    """An array of real numbers (``nan`` and ``inf`` included, as a file may hold)."""
    if isinstance(value, (str, bytes)):
        raise InputError(f"{where}: {quoted(str(value))} is text, not numbers")
    try:
        array = np.asarray(value)
        if array.dtype.kind == "O":
            array = array.astype(np.float64)
    except (TypeError, ValueError) as e:
        raise InputError(f"{where}: not numbers ({reason(e)})") from None
    if array.dtype.kind not in "fiub":
        raise InputError(f"{where}: holds {clip(str(array.dtype))}, not real numbers")
    return array


def _variable(label: str) -> str:
    m = _COLUMN.fullmatch(label)
    return m.group(1) if m else label


def _source(layout: dict, arrays: dict[str, np.ndarray]) -> Source:
    rows = {k: a.shape[0] for k, a in arrays.items()}
    if len(set(rows.values())) != 1:
        raise InputError(f"data=: the arrays have different numbers of rows ("
                         + ", ".join(f"{k}: {n}" for k, n in rows.items()) + ")")
    total = next(iter(rows.values()))
    if total == 0:
        raise InputError(f"data=: there are no rows")

    def chunks(size: int) -> Iterator[dict[str, np.ndarray]]:
        for start in range(0, total, size):
            yield {k: np.asarray(a[start:start + size], dtype=np.float64)
                   for k, a in arrays.items()}
    return Source("data=", layout, total, chunks)
