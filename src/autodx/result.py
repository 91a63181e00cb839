"""The result model: what every command computes, and one table that says what a result
of each command holds.

A :class:`Result` is arrays with one row per point (``values``), the rows they were
computed at (:class:`Rows`), and the command's options. What a result *holds* is
decided here and nowhere else, by :data:`SPECS` (one :class:`Spec` per
:class:`Command`): its entries (each number of a row, with a key and a label), its JSON
fields, its plain-text lines and its arrays for ``.npy``/``.npz``. Rendering, checking
and the Python API read the table; none of them branches on the command.

An entry key names one number of a row: ``[]`` is f itself, a sorted list of
coordinate positions is a partial derivative (``[0, 1]`` is d2f/dx dy),
``{"hvp": i}`` is row i of a Hessian-vector product, and for a vector-valued f (the
jacobian command) ``{"f": i}`` is its output i and ``{"f": i, "d": j}`` the derivative
of output i in coordinate j. The symbolic worker gets the same
keys, so its answers line up with the numbers.

The JSON schema (docs/results.md) is versioned by :data:`SCHEMA`.
"""
from __future__ import annotations

import enum
import itertools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

if TYPE_CHECKING:  # the model itself imports nothing heavy: the CLI loads it at start-up
    import numpy as np

    from .data import Rows

SCHEMA = 1


class Command(str, enum.Enum):
    """The commands that compute a :class:`Result`."""

    grad = "grad"
    hessian = "hessian"
    jvp_partial = "jvp-partial"
    perex = "perex"
    jacobian = "jacobian"


# ---------------------------------------------------------------- rows and labels

def flat_labels(layout: dict[str, int | None]) -> list[str]:
    """``x``, ``z[0]``, ``z[1]``, ...: one label per number, vectors in index order.

    Example:
        >>> flat_labels({"x": None, "z": 2})
        ['x', 'z[0]', 'z[1]']
    """
    out: list[str] = []
    for name, size in layout.items():
        out += [name] if size is None else [f"{name}[{i}]" for i in range(size)]
    return out


def flat_values(point: dict[str, Any]) -> list[float]:
    """The numbers of a point in the order of :func:`flat_labels`."""
    out: list[float] = []
    for v in point.values():
        out += v if isinstance(v, list) else [v]
    return out


def layout_of(point: dict[str, Any]) -> dict[str, int | None]:
    """Variable -> vector length (None for a number) of a point of numbers and lists."""
    return {k: len(v) if isinstance(v, list) else None for k, v in point.items()}


def partial_label(coords: Sequence[str], key: Sequence[int]) -> str:
    """``d2f/dx dy`` for key (0, 1) over coordinates x, y; ``d3f/dx^3`` for (0, 0, 0)."""
    k = len(key)
    parts = []
    for i, group in itertools.groupby(sorted(key)):
        power = len(list(group))
        parts.append(f"d{coords[i]}" + (f"^{power}" if power > 1 else ""))
    return f"d{k if k > 1 else ''}f/" + " ".join(parts)


def entry_label(coords: Sequence[str], key) -> str:
    """``f``, ``d2f/dx dy``, ``Hv[x]``, ``f[0]`` or ``df[0]/dx`` for an entry key."""
    if isinstance(key, dict) and "f" in key:
        return f"f[{key['f']}]" if "d" not in key else f"df[{key['f']}]/d{coords[key['d']]}"
    if isinstance(key, dict):
        return f"Hv[{coords[key['hvp']]}]"
    return "f" if not key else partial_label(coords, key)


# ---------------------------------------------------------------- the verdict of --check

@dataclass
class Verdict:
    """--check's verdict on one number, against its two references."""

    value: float
    exact: float | None
    error: float | None
    fd: float | None
    fd_bound: float | None
    fd_error: float | None
    verdict: str  # ok | disagrees | not checkable
    why: str | None

    def as_json(self, label: str) -> dict:
        return {"entry": label, **{k: _finite_or_none(v) if isinstance(v, float) else v
                                   for k, v in self.__dict__.items()}}


def _finite_or_none(v: float):
    return v if math.isfinite(v) else None


# ---------------------------------------------------------------- the result

@dataclass
class Result:
    """What a command computed: ``values`` hold arrays with one row per point, in input
    order (``derivatives`` is a dict order -> array). A result of ``--symbolic`` without
    a point has no rows and no values, only its entries and their ``symbolic`` text."""

    command: Command
    expression: str
    coordinates: list[str]
    rows: "Rows"
    values: dict[str, Any] = field(default_factory=dict)
    precision: int = 64
    order: int = 0                          # grad: derivatives of orders 1..order
    scalar: bool = False                    # grad: one scalar variable, numbers not tensors
    hvp: list[float] | None = None          # hessian --hvp: the vector
    indices: list[int] | None = None        # jvp-partial: the coordinates of the partial
    params: dict[str, int | None] = field(default_factory=dict)  # perex: parameter layout
    timing: dict | None = None              # perex --timing
    show_symbolic: bool = False             # --symbolic was asked for
    symbolic: list[str] | None = None       # one text per entry (None: not available)
    checks: list[list[Verdict]] | None = None  # --check: per row, per entry
    check_summary: dict | None = None
    notes: list[str] = field(default_factory=list)  # warnings found along the way
    outputs: list[str] | None = None        # jacobian: the text of each output of f

    @property
    def spec(self) -> "Spec":
        return SPECS[self.command]

    def keys(self) -> list:
        """The entry keys of a row, in display order."""
        return self.spec.keys(self)

    def entries(self, i: int, keys: list | None = None) -> list[tuple[str, Any]]:
        """(label, number) for everything computed at row i, in display order; pass
        ``keys`` from :meth:`keys` when going through many rows."""
        return [(entry_label(self.coordinates, key), self.spec.value(self, i, key))
                for key in (self.keys() if keys is None else keys)]

    def labels(self) -> list[str]:
        return [entry_label(self.coordinates, key) for key in self.keys()]

    def columns(self) -> list:
        """Every entry as a column over all rows (arrays), in display order."""
        return [self.spec.value(self, slice(None), key) for key in self.keys()]

    def json_item(self, i: int, leaf: Callable[[Any, str], Any]) -> dict:
        """The JSON fields of row i (without ``at``); ``leaf(array, what)`` converts."""
        return self.spec.json(self, lambda name: _row(self.values[name], i), leaf)

    def symbolic_json(self) -> Any:
        """The symbolic texts shaped like one row of the JSON results."""
        if self.symbolic is None:
            return None
        by_key = {_hashable(k): s for k, s in zip(self.keys(), self.symbolic)}
        return self.spec.json(self, lambda name: _text_array(self, name, by_key),
                              lambda v, what: _nested(v))

    def plain_lines(self, i: int) -> list:
        """Row i as arrays, one a line of ``--format plain``."""
        return self.spec.plain(self, i)

    def arrays(self) -> dict[str, "np.ndarray"]:
        """Arrays for ``.npz`` (first axis = points), ``coordinates``: the labels of the
        last axes, so a script never picks the wrong column, and the points themselves
        as ``at_NAME`` (a grid of ``--at`` ranges need not be rebuilt)."""
        import numpy as np

        points = {}
        if self.spec.points_in_csv and self.rows.count:
            for name in self.rows.point(0):
                if self.rows.batched is not None and name in self.rows.batched:
                    points[f"at_{name}"] = np.asarray(self.rows.batched[name])
                else:
                    value = np.asarray(self.rows.fixed[name])
                    points[f"at_{name}"] = np.broadcast_to(
                        value, (self.rows.count, *value.shape)).copy()
        return {**self.spec.arrays(self), "coordinates": np.array(self.coordinates),
                **points}

    def main_array(self) -> str:
        """The name of the array a ``.npy`` file holds."""
        return self.spec.main(self)


def _row(value, i: int):
    """Row i of a value: an array, or a dict of arrays (grad's derivatives by order)."""
    return {k: v[i] for k, v in value.items()} if isinstance(value, dict) else value[i]


def _hashable(key) -> tuple:
    if isinstance(key, dict):
        return tuple(sorted(key.items()))
    return tuple(key)


def _nested(v):
    return v.tolist() if hasattr(v, "tolist") else v


# ---------------------------------------------------------------- per command

@dataclass(frozen=True)
class Spec:
    """What a result of one command holds.

    Attributes:
        keys: the entry keys of a row (see the module docstring).
        value: ``value(result, i, key)``: the number of an entry at row i.
        json: ``json(result, get, leaf)``: the fields of a JSON results item, from
            ``get(name)`` (that value's array at the row) and ``leaf(array, what)``.
        plain: the arrays of row i, one a line of ``--format plain``.
        arrays: the arrays of ``.npz``; ``main`` the one of ``.npy``.
        points_in_csv: the point's coordinates lead each CSV row (else: the data rows
            are shown without the values every row shares).
        flat: an array whose row i is exactly the entries of row i (a fast path).
        matrix: a matrix result, shown as a matrix in the table (or None), titled
            ``matrix_title``, its rows labelled ``matrix_rows`` (default: the
            coordinates); ``matrix_values``: f's value of each row leads the row.
        wide: a few points may be shown as columns, entries as rows.
        entry_header: the heading of the entries' column in a wide table.
    """

    keys: Callable[[Result], list]
    value: Callable[[Result, int, Any], Any]
    json: Callable[[Result, Callable, Callable], dict]
    plain: Callable[[Result, int], list]
    arrays: Callable[[Result], dict]
    main: Callable[[Result], str]
    points_in_csv: bool = True
    flat: str | None = None
    matrix: Callable[[Result], str | None] = lambda r: None
    matrix_title: str = "Hessian"
    matrix_rows: Callable[[Result], list[str]] = lambda r: r.coordinates
    matrix_values: bool = False
    wide: bool = True
    entry_header: str = "derivative"


def _combos(n: int, k: int) -> list[list[int]]:
    return [list(c) for c in itertools.combinations_with_replacement(range(n), k)]


def _f_or(partial: Callable) -> Callable:
    """An entry's value: f for key ``[]``, ``partial(result, i, key)`` otherwise. Every
    value function takes a row ``i`` or ``slice(None)`` (the column of every row)."""
    def value(r: Result, i, key):
        return r.values["value"][i] if not key and not isinstance(key, dict) else \
            partial(r, i, key)
    return value


def _grad_keys(r: Result) -> list:
    n = len(r.coordinates)
    return [[]] + [key for k in range(1, r.order + 1)
                   for key in ([[0] * k] if r.scalar else _combos(n, k))]


def _grad_value(r: Result, i, key):
    d = r.values["derivatives"][len(key)]
    return d[i] if r.scalar else d[(i, *key)]


def _grad_json(r: Result, get, leaf) -> dict:
    derivatives = get("derivatives")
    return {"value": leaf(get("value"), "the value"),
            "derivatives": {str(k): leaf(derivatives[k], f"derivative {k}")
                            for k in range(1, r.order + 1)}}


def _hessian_keys(r: Result) -> list:
    n = len(r.coordinates)
    return [[]] + ([{"hvp": i} for i in range(n)] if r.hvp is not None else _combos(n, 2))


def _hessian_value(r: Result, i, key):
    if isinstance(key, dict):
        return r.values["hvp"][i, key["hvp"]]
    return r.values["hessian"][(i, *key)]


def _hessian_main(r: Result) -> str:
    return "hessian" if r.hvp is None else "hvp"


def _perex_json(r: Result, get, leaf) -> dict:
    grads, start, row = {}, 0, get("grad")
    for name, size in r.params.items():
        part = row[start:start + (size or 1)]
        grads[name] = leaf(part[0] if size is None else part, f"grad {name}")
        start += size or 1
    return {"grad": grads}


def _jacobian_keys(r: Result) -> list:
    m, n = len(r.outputs or []), len(r.coordinates)
    return [{"f": i} for i in range(m)] + [{"f": i, "d": j} for i in range(m)
                                           for j in range(n)]


def _jacobian_value(r: Result, i, key):
    if "d" not in key:
        return r.values["value"][i, key["f"]]
    return r.values["jacobian"][i, key["f"], key["d"]]


SPECS: dict[Command, Spec] = {
    Command.grad: Spec(
        keys=_grad_keys,
        value=_f_or(_grad_value),
        json=_grad_json,
        plain=lambda r, i: [r.values["derivatives"][k][i] for k in range(1, r.order + 1)],
        arrays=lambda r: {"value": r.values["value"],
                          **{f"d{k}": d for k, d in r.values["derivatives"].items()}},
        main=lambda r: f"d{r.order}",
    ),
    Command.hessian: Spec(
        keys=_hessian_keys,
        value=_f_or(_hessian_value),
        json=lambda r, get, leaf: {"value": leaf(get("value"), "the value"),
                                   _hessian_main(r): leaf(get(_hessian_main(r)),
                                                          _hessian_main(r))},
        plain=lambda r, i: list(r.values["hessian"][i]) if r.hvp is None
        else [r.values["hvp"][i]],
        arrays=lambda r: {_hessian_main(r): r.values[_hessian_main(r)],
                          "value": r.values["value"]},
        main=_hessian_main,
        matrix=lambda r: "hessian" if r.hvp is None else None,
        entry_header="",
    ),
    Command.jvp_partial: Spec(
        keys=lambda r: [[], sorted(r.indices or [])],
        value=_f_or(lambda r, i, key: r.values["partial"][i]),
        json=lambda r, get, leaf: {"value": leaf(get("value"), "the value"),
                                   "partial": leaf(get("partial"), "the partial")},
        plain=lambda r, i: [r.values["partial"][i]],
        arrays=lambda r: {"partial": r.values["partial"], "value": r.values["value"]},
        main=lambda r: "partial",
    ),
    Command.perex: Spec(
        keys=lambda r: [[j] for j in range(len(r.coordinates))],
        value=lambda r, i, key: r.values["grad"][i, key[0]],
        json=_perex_json,
        plain=lambda r, i: [r.values["grad"][i]],
        arrays=lambda r: {"grad": r.values["grad"]},
        main=lambda r: "grad",
        points_in_csv=False,
        flat="grad",
        wide=False,
    ),
    Command.jacobian: Spec(
        keys=_jacobian_keys,
        value=_jacobian_value,
        json=lambda r, get, leaf: {"value": leaf(get("value"), "the value"),
                                   "jacobian": leaf(get("jacobian"), "the Jacobian")},
        plain=lambda r, i: list(r.values["jacobian"][i]),
        arrays=lambda r: {"jacobian": r.values["jacobian"], "value": r.values["value"]},
        main=lambda r: "jacobian",
        matrix=lambda r: "jacobian",
        matrix_title="Jacobian",
        matrix_rows=lambda r: r.outputs or [],
        matrix_values=True,
        entry_header="",
    ),
}
assert set(SPECS) == set(Command)


def _text_array(r: Result, name: str, by_key: dict):
    """The symbolic texts of one value, shaped like its numbers (for JSON)."""
    if name == "jacobian" or name == "value" and r.outputs is not None:
        m, n = len(r.outputs or []), len(r.coordinates)
        if name == "value":
            return [by_key[(("f", i),)] for i in range(m)]
        return [[by_key[(("d", j), ("f", i))] for j in range(n)] for i in range(m)]
    if name == "value":
        return by_key[()]
    if name == "derivatives":
        n, out = len(r.coordinates), {}
        for k in range(1, r.order + 1):
            out[k] = by_key[(0,) * k] if r.scalar else _tensor(by_key, n, k)
        return out
    if name == "hessian":
        return _tensor(by_key, len(r.coordinates), 2)
    if name == "hvp":
        return [by_key[(("hvp", i),)] for i in range(len(r.coordinates))]
    if name == "partial":
        return by_key[tuple(sorted(r.indices or []))]
    raise KeyError(name)


def _tensor(by_key: dict, n: int, k: int) -> list:
    def build(prefix):
        if len(prefix) == k:
            return by_key[tuple(sorted(prefix))]
        return [build(prefix + [i]) for i in range(n)]
    return build([])
