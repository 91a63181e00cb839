"""Limits and option checks that need no JAX: the order, --wrt, --indices, --hvp, the
number of points that --at ranges make.

Shared by the commands (through :mod:`autodx.api`), by :mod:`autodx.data`, and by
``--symbolic`` without a point, which never imports JAX. Imports nothing of autodx but
its errors, so every module may use it.
"""
from __future__ import annotations

import contextlib
import contextvars
import math
import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from .errors import InputError

MAX_ORDER = {64: 150, 32: 30}
MAX_PARTIAL_ORDER = 16
MAX_NESTED_WORK = 20_000  # traced operations of jvp-partial by nested jvps
MAX_TAYLOR_WORK = 120  # analyze.WEIGHTS of one Taylor-mode program (see check_taylor)
MAX_MODES_WORK = 360  # the same, times 3^(order - 1), by JAX's modes (see check_modes)
MAX_PARTIAL_WORK = 160  # the same, times the indices, in nilpotent arithmetic (check_partial)
# How far a number may be from the exact value before --check says it disagrees, and
# before grad warns that rounding noise has reached a high derivative: (relative, absolute)
TOLERANCE = {64: (1e-8, 1e-12), 32: (1e-3, 1e-5)}
# Points that the --at options of one command make, ranges and grids expanded, all --at
# together (a grid of two 3,000-point ranges is 9,000,000), and the numbers those points
# hold (each point's numbers, vectors counted whole, times the points: 800 MB as
# float64). Checked on the counts alone, before anything is allocated.
MAX_POINTS = 10_000_000
MAX_POINT_NUMBERS = 100_000_000


def natural(name: str) -> list:
    """A sort key that puts x2 before x10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def split_top(text: str) -> list[str]:
    """Split on commas that are not inside brackets or parentheses (``atan2(1,2)``)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def check_points(count: int, per_point: int) -> None:
    """The points of --at, ranges expanded: at most MAX_POINTS of them, holding at most
    MAX_POINT_NUMBERS numbers (``per_point`` each). Run on the counts, before any array
    is made, so a range of 10^12 points is refused at once."""
    if count > MAX_POINTS:
        raise InputError(f"--at makes {count:,} points, over the limit of {MAX_POINTS:,}: "
                         "use fewer points in the ranges (start:stop:count), or run the "
                         "parts separately")
    if count * per_point > MAX_POINT_NUMBERS:
        raise InputError(f"--at makes {count:,} points of {per_point:,} numbers each, "
                         f"{count * per_point:,} numbers, over the limit of "
                         f"{MAX_POINT_NUMBERS:,}: use fewer points in the ranges "
                         "(start:stop:count), or shorter vectors")


def local_scale(derivatives) -> "np.ndarray":
    """The scale at which each derivative of orders 0..N along one variable is known.

    A high derivative is only as exact as the numbers it comes from: d7 of 1/(1+25x^2)
    at 0.2 is 5e-9 next to d6 = -7e5 and d8 = 5e8 (0.2 is not exact in binary, and one
    ulp of x moves d7 by d8 * ulp = 1e-8), so 0 is right to float64 precision. In
    normalised Taylor coefficients c_k = d_k / k!, the scale of an order k >= 2 is the
    larger of |c_k| and the geometric mean of its neighbours, sqrt(|c_{k-1} c_{k+1}|)
    (for the highest order, the neighbours' trend |c_{N-1}|^2 / |c_{N-2}|); f and its
    first derivative keep their own size. Returned in the units of the derivatives
    (times k!), along the last axis.

    Example:
        >>> [float(s) for s in local_scale([0.5, -2.5, 12.5, 0.0, -1875.0])]
        [0.5, 2.5, 12.5, 132.5..., 1875.0]
    """
    import numpy as np

    d = np.abs(np.asarray(derivatives, dtype=np.float64))
    n = d.shape[-1]
    fact = np.array([float(math.factorial(k)) for k in range(n)])
    c = d / fact
    scale = c.copy()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if n > 3:
            scale[..., 2:-1] = np.maximum(c[..., 2:-1], np.sqrt(c[..., 1:-2] * c[..., 3:]))
        if n > 2:
            trend = np.where(c[..., -3] > 0, c[..., -2] ** 2 / c[..., -3], 0.0)
            scale[..., -1] = np.maximum(c[..., -1], trend)
        return np.nan_to_num(scale * fact, nan=0.0, posinf=np.finfo(np.float64).max)


def check_order(order: int, precision: int = 64) -> None:
    """Orders run from 1 to a limit set by the float type (k! must stay finite)."""
    if precision not in MAX_ORDER:
        raise InputError(f"precision {precision!r}: use 64 or 32 (float64 or float32)")
    if isinstance(order, bool) or not isinstance(order, int):
        raise InputError(f"order {order!r}: give a whole number, as in 3")
    top = MAX_ORDER[precision]
    if not 1 <= order <= top:
        raise InputError(f"--order {order} is out of range: use 1 to {top}"
                         f" (at --precision {precision})")


# The scale of the compile-cost units, as the refusals quote it (analyze.WEIGHTS)
_UNITS = "units of compile time (sin 2, asinh 3, tanh 6, zeta 37"


def check_modes(work: int, order: int, what: str) -> None:
    """Derivatives by JAX's own modes (hessian, jacobian, perex, grad over several
    coordinates by nested jacfwd, jvp-partial by nested jvps) trace every function's
    implementation once per order of differentiation, and XLA's compile time grows with
    what the functions weigh (:data:`autodx.analyze.WEIGHTS`) and about three times an
    order: the hessian of 60 nested tanh took 45 s and 4.3 GB, grad --order 3 of 20
    nested tanh (times y) 19 s. Refuse past MAX_MODES_WORK = work x 3^(order - 1)
    (first order: 360 units, 60 nested tanh in 5 s; second: 120, 20 tanh in 6 s)."""
    weighted = work * 3 ** max(order - 1, 0)
    if weighted > MAX_MODES_WORK:
        raise InputError(f"{what}: the expression's functions weigh {work:,} {_UNITS}), "
                         f"times 3^"
                         f"{max(order - 1, 0)} for derivatives of order {order}: "
                         f"{weighted:,}, over the limit of {MAX_MODES_WORK}: simplify it"
                         + (", or differentiate fewer times" if order > 1 else ""))


def check_partial(work: int, k: int, what: str) -> None:
    """jvp-partial in nilpotent arithmetic runs each function's Taylor recurrences on
    values over the directions, a program that grows with the k indices: 60 nested sin
    with 16 indices took 96 s. Refuse past MAX_PARTIAL_WORK = work x k (60 nested sin
    with 2 indices, 7 with 16: 4 to 6 s of CPU on the loaded 2-core machine), and past
    Taylor mode's own bound."""
    check_taylor(work, k, what)
    if work * k > MAX_PARTIAL_WORK:
        raise InputError(f"{what}: the expression's Taylor-mode recurrences weigh {work:,} "
                         f"{_UNITS}, a product of two series 1/3), times {k} indices: "
                         f"{work * k:,}, "
                         f"over the limit of {MAX_PARTIAL_WORK}: simplify it, or use fewer "
                         "indices")


def check_taylor(work: int, order: int, what: str | None = None) -> None:
    """Taylor mode runs each recurrence (sin, exp, division, ...) as a ``lax.fori_loop``,
    which XLA compiles one by one, each function at its own cost (``work``, in units of
    about 25 ms: :data:`autodx.analyze.WEIGHTS`): refuse an expression that would take
    more than a few seconds to compile (120 units: 60 nested sin, 40 nested asinh, 20
    nested tanh, each 3 to 6 s on the loaded 2-core machine; 199 nested sin took 13 s,
    60 nested tanh 16 s)."""
    if work > MAX_TAYLOR_WORK:
        head = what or f"--order {order}"
        raise InputError(f"{head}: the expression's Taylor-mode recurrences (sin, exp, "
                         f"division, powers, ... with helpers written out) weigh {work:,} "
                         f"{_UNITS}, a product of two series 1/3), over the limit of "
                         f"{MAX_TAYLOR_WORK}: simplify it")


def check_nested_partial(k: int, size: int) -> None:
    """Nested jvps (jvp-partial where nilpotent arithmetic has no rule) trace a program
    about 3^k times the expression's size (every level differentiates every operation
    of the one below: max(x,y)*sin(x*y), 9 nodes, took 9.7 s with 8 indices and 30 s
    with 10 on the loaded 2-core machine): refuse one past MAX_NESTED_WORK."""
    if size * 3 ** k > MAX_NESTED_WORK:
        raise InputError(f"--indices: {k} indices by nested forward mode (this expression "
                         f"has a construct nilpotent arithmetic lacks: diff(), min/max, "
                         f"...) costs about {size:,} x 3^{k} = {size * 3 ** k:,} operations, "
                         f"over the limit of {MAX_NESTED_WORK:,}: use fewer indices")


_ENTRY = re.compile(r"([A-Za-z][A-Za-z0-9_]*)(?:\[(\d{1,9})\])?")


def split_entry(name: str) -> tuple[str, int | None]:
    """``z[1]`` -> ("z", 1); ``x`` -> ("x", None)."""
    m = _ENTRY.fullmatch(name)
    return (m.group(1), None if m.group(2) is None else int(m.group(2))) if m else (name, None)


def check_wrt(variables: list[str], wrt: Sequence[str] | str | None) -> list[str]:
    """The differentiated coordinates, in the order --wrt gives them (repeated --wrt
    accumulate; ``z[1]`` is one entry of a vector); every variable, in natural name
    order, when ``wrt`` is None."""
    if not variables:
        raise InputError("the expression has no variables: there is nothing to "
                         "differentiate")
    if wrt is None or (not isinstance(wrt, str) and not list(wrt)):
        return sorted(variables, key=natural)
    items = [wrt] if isinstance(wrt, str) else list(wrt)
    names = [w.strip() for item in items for w in split_top(item) if w.strip()]
    if not names:
        raise InputError("--wrt is empty: name at least one variable")
    for name in names:
        var, _ = split_entry(name)
        if _ENTRY.fullmatch(name) is None or var not in variables:
            raise InputError(f"--wrt {name}: not a variable of the expression, nor an entry "
                             f"like z[0] of one (its variables: "
                             f"{', '.join(variables) or 'none'})")
    whole = {n for n in names if "[" not in n}
    for name in names:
        if names.count(name) > 1:
            raise InputError(f"--wrt names {name} twice")
        if "[" in name and split_entry(name)[0] in whole:
            raise InputError(f"--wrt names {name} and all of {split_entry(name)[0]}: give "
                             "one or the other")
    return names


def short_list(labels: list[str]) -> str:
    """The labels for a message: all of them, or the first and last of many."""
    return ", ".join(labels) if len(labels) <= 6 else f"{labels[0]}, ..., {labels[-1]}"


def check_hvp(vector, labels: list[str]):
    """The --hvp vector as a flat float array, one number per coordinate."""
    import numpy as np

    v = np.asarray(vector, dtype=float).reshape(-1)
    if v.shape != (len(labels),):
        raise InputError(f"--hvp: the vector has length {v.size}, but there are "
                         f"{len(labels)} coordinates ({short_list(labels)})")
    return v


def resolve_indices(text: str | Sequence, labels: list[str]) -> list[int]:
    """``0,2,4`` or ``x,y,y`` or ``z[1],z[3]`` -> positions in the flat coordinates."""
    items = split_top(text) if isinstance(text, str) else [str(t) for t in text]
    out = []
    for item in (i.strip() for i in items):
        if re.fullmatch(r"-?[0-9]+", item):  # ASCII digits: "¹" is a digit to isdigit()
            # more digits than any coordinate count (and than int() takes): out of range
            i = int(item) if len(item) <= 12 else len(labels)
            shown = str(i) if len(item) <= 12 else f"{item[:12]}... ({len(item):,} digits)"
            if not 0 <= i < len(labels):
                raise InputError(f"--indices: {shown} is out of range: there are {len(labels)} "
                                 f"coordinates, 0 to {len(labels) - 1} "
                                 f"({short_list(labels)})")
            out.append(i)
        elif item in labels:
            out.append(labels.index(item))
        else:
            shown = repr(item) if len(item) <= 60 else repr(item[:60]) + "..."
            raise InputError(f"--indices: {shown} is not a coordinate (they are: "
                             f"{short_list(labels)}, or their positions 0 to {len(labels) - 1})")
    if not out:
        raise InputError("--indices is empty: give one or more, as in --indices 0,2")
    if len(out) > MAX_PARTIAL_ORDER:
        raise InputError(f"--indices: {len(out)} indices is an order above "
                         f"{MAX_PARTIAL_ORDER}")
    return out


# What a result held whole may have. JSON (on stdout or in --out FILE.json) and plain
# text turn every number into a Python object and then text: 1,000,000 rows of grad
# "x*y" took 39 s and 2.9 GB, 300 rows of grad "sin(x*y*z)" --order 10 (88,573 numbers
# a row) 127 s and 9.3 GB; 2,000,000 numbers take about 3 s as JSON (every point alone
# fits: a tensor has at most 1,000,000 entries). A table, .npy and .npz hold arrays (8
# bytes a number): 1,000 rows of order 12 over 3 coordinates would be 6.4 GB. CSV
# streams (without --check or --symbolic, which need every row): no bound but the file's.
MAX_HELD_ROWS = 100_000
MAX_TEXT_NUMBERS = 2_000_000
MAX_ARRAY_NUMBERS = 50_000_000
_HELD = contextvars.ContextVar("held", default=None)


@dataclass(frozen=True)
class Hold:
    """What holds the results of the command running now, and its bounds."""

    what: str  # "--format json", "--out r.npz", "a table", ...
    kind: str  # "json" (rows are objects too), "text" (plain) or "arrays"

    @property
    def text(self) -> bool:
        return self.kind != "arrays"

    @property
    def rows(self) -> int | None:
        return MAX_HELD_ROWS if self.kind == "json" else None

    @property
    def numbers(self) -> int:
        return MAX_TEXT_NUMBERS if self.text else MAX_ARRAY_NUMBERS


@contextlib.contextmanager
def holding(hold: Hold | None):
    """While this block runs, the results are held whole by ``hold`` (None: they are
    not, or nothing bounds them): a plan over its bounds is refused."""
    token = _HELD.set(hold)
    try:
        yield
    finally:
        _HELD.reset(token)


def held_now() -> Hold | None:
    """What holds the results of the command running now (see :func:`holding`)."""
    return _HELD.get()


_INSTEAD = ("write CSV (--format csv, or --out FILE.csv, which stream; without --check "
            "and --symbolic, which hold every row), or split the data")


def check_held(count: int, hold: Hold | None = None) -> None:
    """At most ``hold.rows`` rows (JSON: each row is a dictionary of Python objects)."""
    hold = hold or _HELD.get()
    if hold is not None and hold.rows is not None and count > hold.rows:
        raise InputError(f"{hold.what} holds every result in memory as text, and there are "
                         f"more than {hold.rows:,} rows: {_INSTEAD}, or write arrays "
                         "(--out FILE.npz)")


def numbers_per_row(rows: int, held: Iterable, shared: Mapping) -> int:
    """What each of ``rows`` rows holds: the arrays ``held`` (rows first: results, the
    points read), and in every row the whole of each ``shared`` value (what --at gives
    every row: JSON writes it in each row's "at", .npz as rows; "_" names are internal).
    Batches (:mod:`autodx.batch`) and the merge of --distributed count alike."""
    import numpy as np

    return -(-sum(int(np.size(a)) for a in held) // max(rows, 1)) + \
        sum(int(np.size(v)) for k, v in shared.items() if not k.startswith("_"))


def check_numbers(count: int, per_row: int, hold: Hold | None = None,
                  known: bool = True) -> None:
    """At most ``hold.numbers`` numbers in ``count`` rows of ``per_row`` numbers each
    (results and the points kept beside them); ``known``: ``count`` is every row, not
    the rows read so far."""
    hold = hold or _HELD.get()
    if hold is None or count * per_row <= hold.numbers:
        return
    kind = "as text" if hold.text else "as arrays"
    rows = f"{count:,} rows" if known else f"at least {count:,} rows"
    raise InputError(f"{hold.what} holds every result in memory {kind}: {rows} of "
                     f"{per_row:,} numbers is {count * per_row:,} numbers, over the limit of "
                     f"{hold.numbers:,}: {_INSTEAD}, or ask for fewer numbers (a lower "
                     "--order, fewer --wrt coordinates, shorter vectors in the points)")
