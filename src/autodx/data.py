"""Inputs: ``--at`` text, Python values and ``--data`` files -> checked points, and the
:class:`Plan` that says where the rows of a command come from (``--at`` points, ranges
and grids of them, or a ``--data`` file with ``--at`` values shared by every row). Files
are read in chunks of rows (:mod:`autodx.datafiles`), so memory stays bounded whatever
their size; the executor (:mod:`autodx.batch`) runs a plan."""
from __future__ import annotations

import abc
import functools
import math
import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Iterator

import numpy as np

from . import csvfiles, datafiles
from .errors import InputError
from .limits import MAX_POINTS, check_points, natural, split_top  # noqa: F401 (re-exported)
from .limits import check_held, held_now  # noqa: F401 (re-exported)

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf|nan"
_NUMBER_RE = re.compile(rf"\s*(?:{_NUMBER})\s*", re.IGNORECASE)
_NAME_RE = re.compile(r"\s*([A-Za-z][A-Za-z0-9_]*)\s*=(.*)", re.DOTALL)
_COUNT_RE = re.compile(r"\s*([-+]?)(\d+)\s*")

Point = dict  # variable name -> np.ndarray (0-d or 1-d), or a Range


@dataclass(frozen=True)
class Range:
    """``start:stop:count`` in ``--at``: ``count`` numbers from start to stop, both ends
    included (``numpy.linspace``); each is a point of its own.

    Example:
        >>> Range(0.0, 1.0, 5).values().tolist()
        [0.0, 0.25, 0.5, 0.75, 1.0]
    """

    start: float
    stop: float
    count: int

    def values(self) -> np.ndarray:
        return np.linspace(self.start, self.stop, self.count)

    def __str__(self) -> str:
        return f"{self.start:g}:{self.stop:g}:{self.count}"


def parse_value(text: str, where: str) -> np.ndarray | Range:
    """``1.5`` -> 0-d array, ``[1, 2, 3]`` -> 1-d array, ``0:1:11`` -> a :class:`Range`;
    a constant expression (``pi/2``, ``[pi, 2*pi]``, ``0:pi:5``) is read by the safe
    parser; anything else is an InputError."""
    body = text.strip()
    if ":" in body:  # no expression has a colon: this is meant as a range
        return parse_range(body, where)
    if body.startswith("[") and body.endswith("]"):
        items = split_top(body[1:-1]) if body[1:-1].strip() else []
        if not items:
            raise InputError(f"{where}: the vector {body} is empty")
        return np.array([_scalar(s, where, body) for s in items])
    return np.array(_scalar(body, where))


def parse_range(body: str, where: str) -> Range:
    """``start:stop:count``: the ends numbers or constant expressions, the count a whole
    number of at least 2 written in digits."""
    if "[" in body or "]" in body:
        raise InputError(f"{where}: {datafiles.quoted(body)}: a range cannot be inside a "
                         "vector, nor be one: a range varies one scalar variable, as in "
                         "x=0:1:11; give a vector its entries as numbers")
    parts = body.split(":")
    if len(parts) != 3:
        raise InputError(f"{where}: {datafiles.quoted(body)} is not a range: write "
                         "start:stop:count, as in x=0:1:11 (11 points from 0 to 1, both "
                         "ends included)")
    start, stop = (_scalar(p, where) for p in parts[:2])
    if not (math.isfinite(start) and math.isfinite(stop)):
        raise InputError(f"{where}: the range {datafiles.quoted(body)} has an end that is "
                         f"not finite ({start:g} to {stop:g}); give finite ends")
    if not math.isfinite(stop - start):  # its steps would overflow: -1e308:1e308:3
        raise InputError(f"{where}: the range {datafiles.quoted(body)} spans more than a "
                         "float64 holds (stop - start overflows); give closer ends")
    return Range(start, stop, _count(parts[2], body, where))


def _count(text: str, body: str, where: str) -> int:
    m = _COUNT_RE.fullmatch(text)
    if m is None:
        raise InputError(f"{where}: the range {datafiles.quoted(body)} has the count "
                         f"{datafiles.quoted(text.strip())}, which is not a whole number: "
                         "the count is how many points, written in digits, as in 0:1:11")
    sign, digits = m.group(1), m.group(2).lstrip("0") or "0"
    if sign == "-" or digits in ("0", "1"):
        asked = datafiles.quoted(text.strip())[1:-1]
        raise InputError(f"{where}: the range {datafiles.quoted(body)} asks for {asked} "
                         f"point{'' if asked == '1' else 's'}; a range needs a count of at "
                         "least 2 (its two ends); for one point, give the value alone, as "
                         "in x=0.5")
    if len(digits) > len(str(MAX_POINTS)) or int(digits) > MAX_POINTS:
        shown = f"{int(digits):,}" if len(digits) < 100 else \
            f"a {len(digits):,}-digit number of"
        raise InputError(f"{where}: the range {datafiles.quoted(body)} makes {shown} "
                         f"points, over the limit of {MAX_POINTS:,} points in all: use a "
                         "smaller count")
    return int(digits)


def _scalar(text: str, where: str, vector: str | None = None) -> float:
    """A number (the fast path: a regular expression and float) or a constant
    expression."""
    if _NUMBER_RE.fullmatch(text):
        return float(text)
    body = text.strip()
    if not body:
        inside = f" in {vector}" if vector else ""
        raise InputError(f"{where}: an empty value{inside} is not a number; give one")
    return constant(body, where)


def constant(text: str, where: str = "--at") -> float:
    """The value of a constant expression such as ``pi/2`` or ``2*sqrt(2)``, read by the
    safe parser (never ``eval``); a variable in it is an InputError naming it.

    Example:
        >>> round(constant("2*pi"), 6)
        6.283185
    """
    from .errors import ExpressionError
    from .parse import parse_expression

    try:
        tree, _, info = parse_expression(text)
    except ExpressionError as e:
        shown = f", column {e.column}" if e.column is not None else ""
        raise InputError(f"{where}: {datafiles.quoted(text)} is not a number nor a constant "
                         f"expression ({e.message}{shown})") from None
    if info.variables:
        name = next(iter(info.variables))
        hint = " (Euler's number is E)" if name == "e" else ""
        raise InputError(f"{where}: {datafiles.quoted(text)} is not a number: {name} is a "
                         f"variable, not a constant{hint}; a value may be a number or an "
                         "expression of numbers and pi, E, such as pi/2 or sqrt(2)")
    return _evaluate(tree, text, where)


def _evaluate(tree, text: str, where: str) -> float:
    from .compile import compile_tree

    try:
        value = np.asarray(compile_tree(tree, {})({}), dtype=np.float64)
    except ArithmeticError as e:  # folded in Python: 1/0
        raise InputError(f"{where}: {datafiles.quoted(text)} cannot be computed ({e})") from None
    if value.ndim != 0:
        raise InputError(f"{where}: {datafiles.quoted(text)} is not a number (it has shape "
                         f"{value.shape}); "
                         "write a vector as [a, b, c]")
    return float(value)


# Characters of one --at value (a vector of about a million numbers): past it, parsing
# alone took over 12 s and 1.2 GB (113,000,000 characters, through `autodx shell`).
MAX_AT_TEXT = 10_000_000


def parse_at(text: str) -> dict[str | None, np.ndarray | Range]:
    """Parse one ``--at`` value: ``1.5``, ``[1,2]``, ``x=1,y=[1,2]``, ``x=0:1:11,y=2``.

    A bare value is stored under the key None, to be given to the only variable; the
    names keep the order they were written in (the order of a grid's axes).

    Example:
        >>> parse_at("theta=[0.1,-0.1,0],r=1")["theta"].tolist()
        [0.1, -0.1, 0.0]
    """
    where = f"--at {datafiles.quoted(text, 200)}"  # a hostile --at is not echoed whole
    if len(text) > MAX_AT_TEXT:  # a line of `autodx shell` has no argv limit
        raise InputError(f"--at: {len(text):,} characters, over the limit of "
                         f"{MAX_AT_TEXT:,}: give long vectors in a --data file")
    if text.count("[") != text.count("]"):
        raise InputError(f"{where}: the brackets do not match")
    parts = split_top(text)
    if len(parts) == 1 and not _NAME_RE.match(parts[0]):
        return {None: parse_value(parts[0], where)}
    out: dict[str | None, np.ndarray | Range] = {}
    for part in parts:
        m = _NAME_RE.match(part)
        if m is None:
            raise InputError(f"{where}: {datafiles.quoted(part.strip())} should look like "
                             "NAME=VALUE; "
                             "a bare value is allowed only alone")
        name = m.group(1)
        if name in out:
            raise InputError(f"{where}: {datafiles.clip(name)} is given twice")
        out[name] = parse_value(m.group(2), where)
    return out


def as_point(at: Any) -> dict[str | None, np.ndarray | Range]:
    """A Python-API point (number, sequence, dict or ``--at`` text) in ``parse_at`` form;
    a :class:`Range` may stand for a number."""
    def value(v):
        return v if isinstance(v, Range) else np.asarray(v, dtype=float)
    if isinstance(at, str):
        return parse_at(at)
    if isinstance(at, dict):
        return {k: value(v) for k, v in at.items()}
    return {None: value(at)}


def check_point(raw: dict[str | None, np.ndarray | Range], variables: Iterable[str],
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
        if isinstance(value, Range):
            if name in vectors:
                raise InputError(f"{where}: {name} is a vector ({vectors[name]}) but was "
                                 f"given the range {value}; a range varies a scalar "
                                 "variable: give the vector's entries as numbers")
            continue
        if value.ndim == 0 and name in vectors:
            raise InputError(f"{where}: {name} is a vector ({vectors[name]}) but was given "
                             f"the number {value.item():g}; give a vector like [1,2,3]")
        if value.ndim > 1:
            raise InputError(f"{where}: {name} must be a number or a vector")
    return {n: point[n] for n in names}


def _example(names: list[str]) -> str:
    return ",".join(f"{n}=1" for n in names) if names else "x=1"


# ---------------------------------------------------------------- plans

@dataclass
class Rows:
    """The evaluated rows: their batched inputs (if kept) and the shared values."""

    count: int
    batched: dict[str, np.ndarray] | None = None
    fixed: dict[str, np.ndarray] = field(default_factory=dict)
    sample: dict[str, np.ndarray] = field(default_factory=dict)

    def point(self, i: int, shared: bool = True) -> dict[str, Any]:
        """Row i as ``{name: number or list}``, names sorted; ``shared=False`` leaves out
        the values every row shares."""
        values = {k: v for k, v in self.fixed.items() if not k.startswith("_") and shared}
        if self.batched is not None:
            values.update({k: v[i] for k, v in self.batched.items()})
        return {k: (values[k].item() if np.ndim(values[k]) == 0 else
                    np.asarray(values[k]).tolist()) for k in sorted(values, key=natural)}


def closes_plan(f):
    """``f(expr, rows, ...)`` closes ``rows`` (a :class:`Plan`) if it raises: a refusal
    before the work (a limit, an option) leaves no data file open."""
    @functools.wraps(f)
    def run(expr, rows, *args, **kwargs):
        try:
            return f(expr, rows, *args, **kwargs)
        except BaseException:
            rows.close()
            raise
    return run


@dataclass
class Plan(abc.ABC):
    """Where the rows come from; ``done`` is filled in by :func:`run`."""

    layout: dict[str, int | None]  # every variable -> vector length, None for a scalar
    fixed: dict[str, np.ndarray]
    done: Rows | None = None
    total: int | None = None
    quick = False  # see PointsPlan.quick

    def with_fixed(self, name: str, value) -> "Plan":
        return replace(self, fixed={**self.fixed, name: np.asarray(value)})

    @abc.abstractmethod
    def chunks(self, size: int) -> Iterator[dict[str, np.ndarray]]:
        """Chunks of at most ``size`` rows: variable -> array, rows first."""

    def close(self) -> None:
        """Release what the rows are read from."""


# A plan of at most this many rows compiles quickly (XLA without its optimisations, one
# chunk): measured on Taylor mode at order 30, compiling that way saves about 0.35 s and
# costs about 40 us a row in running, so it pays up to some 10,000 rows; cheaper
# programs pay up to 100,000.
QUICK_ROWS = 4096


@dataclass
class PointsPlan(Plan):
    """The ``--at`` points, ranges and grids expanded: one array per variable, rows
    first (a fixed value is a broadcast view, so it costs no memory until a chunk is
    taken)."""

    columns: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def quick(self) -> bool:  # type: ignore[override]
        """A program for a few points runs once: compile it quickly."""
        return (self.total or 0) <= QUICK_ROWS

    def chunks(self, size: int) -> Iterator[dict[str, np.ndarray]]:
        check_held(self.total or 0)
        return ({k: v[start:start + size] for k, v in self.columns.items()}
                for start in range(0, self.total or 0, size))


@dataclass
class DataPlan(Plan):
    source: Any = None  # a datafiles.Source

    def chunks(self, size: int) -> Iterator[dict[str, np.ndarray]]:
        hold = held_now()  # here: the chunks may be read in a thread of their own
        if self.total is not None:
            check_held(self.total, hold)

        def counted():
            count = 0
            for chunk in self.source.chunks(size):
                count += len(next(iter(chunk.values()))) if chunk else 0
                check_held(count, hold)
                yield chunk
        return counted()

    def close(self) -> None:
        self.source.close()


def _layout_of(point: Point) -> dict[str, int | None]:
    return {k: (None if isinstance(v, Range) or v.ndim == 0 else v.shape[0])
            for k, v in point.items()}


def points_plan(variables: list[str], vectors: dict[str, str], ats) -> PointsPlan:
    """The points of every ``--at``, in the order given: one, or for ranges
    (``x=0:1:11``) one per value, and for several ranges in one ``--at`` their grid, the
    first range written varying slowest. Every point must give vectors of the same
    lengths; the count is checked before anything is allocated."""
    if not ats:
        if variables:
            raise InputError(f"no point given: add --at, as in --at {_example(variables)}"
                             " (or --data FILE)")
        ats = [{}]
    raws = [as_point(a) for a in ats]
    pts = [check_point(raw, variables, vectors) for raw in raws]
    layout = _layout_of(pts[0])
    for i, p in enumerate(pts[1:], start=2):
        if _layout_of(p) != layout:
            raise InputError(f"--at number {i} gives vectors of other lengths than the "
                             "first; run them separately")
    axes = [_axes(raw, p) for raw, p in zip(raws, pts)]
    counts = [math.prod(p[n].count for n in names) for p, names in zip(pts, axes)]
    total = sum(counts)
    check_points(total, sum(1 if n is None else n for n in layout.values()))
    blocks = [_grid(p, names, n) for p, names, n in zip(pts, axes, counts)]
    columns = blocks[0] if len(blocks) == 1 else \
        {k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]}
    return PointsPlan(layout, {}, columns=columns, total=total)


def _axes(raw: dict, point: Point) -> list[str]:
    """The ranged variables of a point, in the order they were written."""
    names = [next(iter(point)) if k is None else k for k in raw]
    return [n for n in names if isinstance(point[n], Range)]


def _grid(point: Point, axes: list[str], count: int) -> dict[str, np.ndarray]:
    """The columns of one --at: the grid of its ranges (row-major: the first axis varies
    slowest), each fixed value repeated as a broadcast view."""
    sizes = [point[n].count for n in axes]
    columns = {}
    for name, value in point.items():
        if isinstance(value, Range):
            j = axes.index(name)
            shape = (math.prod(sizes[:j]), sizes[j], math.prod(sizes[j + 1:]))
            columns[name] = np.broadcast_to(value.values()[None, :, None], shape).reshape(-1)
        else:
            columns[name] = np.broadcast_to(value, (count, *value.shape))
    return columns


def fixed_values(variables, vectors: dict[str, str], ats, path: str) -> dict[str, np.ndarray]:
    """The ``--at`` values beside ``--data`` (repeatable, merged), each checked: named, a
    variable, given once, not a range, a vector where the expression needs one; and
    not every variable (the file must give some)."""
    fixed: dict[str, np.ndarray] = {}
    for at in ats:
        for name, value in as_point(at).items():
            if isinstance(value, Range):
                shown = f"{name}={value}" if name else str(value)
                raise InputError(f"--at {shown}: with --data the rows come from the file; "
                                 "a range in --at makes points of its own: give "
                                 f"{name or 'it'} one value (shared by every row), or drop "
                                 "--data")
            if name is None:
                raise InputError("with --data, name the --at values (NAME=VALUE): a bare "
                                 "value is ambiguous")
            if name in fixed:
                raise InputError(f"--at: {name} is given twice")
            if name not in variables:
                raise InputError(f"--at: {name} is not a variable of the expression (its "
                                 f"variables: {', '.join(variables)})")
            fixed[name] = value
    for name, value in fixed.items():
        if value.ndim == 0 and name in vectors:
            raise InputError(f"--at: {name} is a vector ({vectors[name]}) but was given a "
                             "number")
    if len(fixed) == len(variables):
        raise InputError(f"--data {path}: --at already gives every variable, so there is "
                         "nothing to read from the file")
    return fixed


def data_plan(variables: list[str], vectors: dict[str, str], ats, path: str) -> DataPlan:
    """Rows from ``path``; ``--at`` (repeatable, merged) gives what the file does not."""
    fixed = fixed_values(variables, vectors, ats, path)
    needed = [v for v in variables if v not in fixed]
    source = datafiles.open_source(path, needed, vectors, sorted(fixed))
    layout = {**_layout_of(fixed), **source.layout}
    return DataPlan(layout, fixed, source=source, total=source.total)
