"""The Jacobian of a vector-valued expression: a list ``[x*y, sin(x), x + y**2]``, a
``--def`` helper whose body is such a list (``F(a, b) = [a*b, sin(a)]``, then
``F(x, y)``), or one expression whose value is a vector (``exp(v)``, ``2*v``).

A list is not a value of the expression language: it may only be the whole
expression (or the whole body of a helper the whole expression calls). Each item is
parsed, checked and compiled as an expression of its own, with the same helpers, so
every rule of the language (and every limit) applies to it unchanged; an item's text
keeps its columns in the original text, so errors point at the right place.

    >>> split_list("[x*y, sin(x)]")
    [' x*y', '      sin(x)']
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Sequence

from . import parse as P
from .analyze import MAX_SIZE
from .errors import ExpressionError, InputError

if TYPE_CHECKING:
    import numpy as np

_DEF_HEAD = re.compile(r"\s*([A-Za-z][A-Za-z0-9_]*)\s*\(([^()]*)\)\s*=(?!=)")
MAX_OUTPUTS = 1_000


def split_list(text: str, source: str = "expression") -> list[str] | None:
    """The items of a list literal ``[a, b, ...]``, each padded with spaces to its column
    in ``text``; None when ``text`` is not a list."""
    tokens = P.tokenize(text, source)
    if tokens[0].text != "[":
        return None
    depth, starts, items = 0, [tokens[0].col], []
    for tok in tokens[1:]:
        if tok.kind == "end":
            raise ExpressionError("the list is not closed: add ']'", tok.col, source)
        if tok.text in "([" and tok.kind == "op":
            depth += 1
        elif tok.text in ")]" and tok.kind == "op":
            if depth == 0 and tok.text == ")":
                raise ExpressionError("unexpected ')'", tok.col, source)
            if depth == 0:
                items.append((starts[-1], tok.col - 1))
                break
            depth -= 1
        elif tok.text == "," and depth == 0:
            items.append((starts[-1], tok.col - 1))
            starts.append(tok.col)
    after = tokens[tokens.index(tok) + 1]
    if after.kind != "end":
        raise ExpressionError(f"unexpected {after.text!r} after the list: a list must be "
                              "the whole expression", after.col, source)
    out = [" " * start + text[start:end] for start, end in items]
    for (start, end), item in zip(items, out):
        if not item.strip():
            raise ExpressionError("an item of the list is empty", start + 1, source)
    if len(out) > MAX_OUTPUTS:
        raise ExpressionError(f"the list has {len(out):,} items, over the limit of "
                              f"{MAX_OUTPUTS:,}", None, source)
    return out


def _list_helpers(defs: Sequence[str]) -> tuple[list[str], dict[str, list[str]]]:
    """The ``--def`` texts that define numbers, and those whose body is a list: name ->
    one definition per item (``F(a) = a*2`` for item 0 of ``F(a) = [a*2, a]``)."""
    plain, lists = [], {}
    for d in defs:
        m = _DEF_HEAD.match(d)
        items = None
        if m is not None and d[m.end():].lstrip().startswith("["):
            items = split_list(d[m.end():], f"--def {m.group(1)}")
        if items is None:
            plain.append(d)
        else:
            lists[m.group(1)] = [d[:m.end()] + item for item in items]
    return plain, lists


def items_of(text: str, defs: Sequence[str] = ()) -> list[tuple[str, list[str]]]:
    """(item text, its --def texts) for each item of the expression: one item when it is
    not a list (its value may still be a vector).

    Example:
        >>> [t.strip() for t, _ in items_of("F(x, 2)", ["F(a, b) = [a*b, sin(a)]"])]
        ['F(x, 2)', 'F(x, 2)']
    """
    plain, lists = _list_helpers(defs)
    for d in plain + [d for item_defs in lists.values() for d in item_defs]:
        m = _DEF_HEAD.match(d)  # a helper calling a list helper would hold a list itself
        if m is not None:
            _no_list_helper(d[m.end():], lists, f"part of the helper {m.group(1)}",
                            f"--def {m.group(1)}")
    items = split_list(text)
    if items is not None:
        _no_list_helper(text, lists, "an item of a list")
        return [(item, plain) for item in items]
    tokens = P.tokenize(text)
    if tokens[0].kind == "name" and tokens[0].text in lists:
        name = tokens[0].text
        tree = P.parse(text)  # the whole expression must be the one call
        if isinstance(tree, P.Call) and tree.func == name:
            return [(text, plain + [d]) for d in lists[name]]
    _no_list_helper(text, lists, "part of the expression")
    return [(text, plain)]


def labels(texts: Sequence[str]) -> list[str]:
    """A label per item: its text, whitespace collapsed; the items of a list helper
    (the same call each) as ``F(x, y)[0]``, ``F(x, y)[1]``, ...

    Example:
        >>> labels(["F(x)", "F(x)"]), labels(["x*y", " sin(x)"])
        (['F(x)[0]', 'F(x)[1]'], ['x*y', 'sin(x)'])
    """
    shown = [" ".join(t.split()) for t in texts]
    if len(shown) > 1 and len(set(shown)) == 1:
        return [f"{_bracketed(t)}[{k}]" for k, t in enumerate(shown)]
    return shown


def _bracketed(text: str) -> str:
    return text if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*(\(.*\))?", text) and \
        text.count("(") <= 1 else f"({text})"


def _no_list_helper(text: str, lists: dict, what: str, source: str = "expression") -> None:
    for tok in P.tokenize(text, source):
        if tok.kind == "name" and tok.text in lists:
            raise ExpressionError(f"{tok.text}() returns a list, which cannot be {what}: "
                                  f"call it as the whole expression, as in "
                                  f"\"{tok.text}(...)\"", tok.col, source)


@dataclass
class VectorExpression:
    """The outputs of a vector-valued expression, each a compiled expression."""

    text: str
    defs: list[str]
    items: list[Any]  # api.Expression, one per item

    @property
    def variables(self) -> list[str]:
        from .data import natural

        return sorted({v for e in self.items for v in e.info.variables}, key=natural)

    @property
    def vectors(self) -> dict[str, str]:
        return {k: v for e in self.items for k, v in e.info.vectors.items()}

    @property
    def work(self) -> int:
        """What its outputs weigh to compile (:data:`autodx.analyze.WEIGHTS`)."""
        return sum(e.info.cost.work for e in self.items)

    def fun(self, env: dict):
        import jax.numpy as jnp

        return jnp.concatenate([jnp.atleast_1d(e.fun(env)) for e in self.items])


def expression(text: str, defs: Sequence[str] = ()) -> VectorExpression:
    """Parse, check and compile each output of ``text``."""
    from . import api

    items = [api.expression(t, d) for t, d in items_of(text, defs)]
    size = sum(e.info.cost.size for e in items)
    if size > MAX_SIZE:
        raise ExpressionError(f"its items expand to {size:,} nodes in all (the limit is "
                              f"{MAX_SIZE:,})", None, "expression")
    return VectorExpression(text, list(defs), items)


def _output_texts(expr: VectorExpression, rows) -> list[str]:
    """A label for each output: an item's text, or ``(text)[k]`` for entries of a
    vector-valued item."""
    import jax
    import numpy as np

    shapes = {name: jax.ShapeDtypeStruct(() if size is None else (size,), np.float64)
              for name, size in rows.layout.items()}
    out = []
    for e, text in zip(expr.items, labels([e.text for e in expr.items])):
        shape = jax.eval_shape(e.fun, shapes).shape if any(
            rows.layout.get(v) is not None for v in e.info.variables) else ()
        out += [text] if not shape else \
            [f"{_bracketed(text)}[{k}]" for k in range(shape[0])]
    if len(out) > MAX_OUTPUTS:
        raise InputError(f"the expression has {len(out):,} outputs, over the limit of "
                         f"{MAX_OUTPUTS:,}")
    return out


def jacobian_rows(expr: VectorExpression, rows, *args, **kwargs):
    """:func:`_jacobian_rows`, the data file closed if it refuses before the work."""
    from .data import closes_plan

    return closes_plan(_jacobian_rows)(expr, rows, *args, **kwargs)


def _jacobian_rows(expr: VectorExpression, rows, wrt=None, precision: int = 64,
                  progress=None, stream=None):
    """The value and the Jacobian (outputs x coordinates) at every row, by forward mode
    when there are no more coordinates than outputs, else by reverse mode; ``stream``
    as for :func:`autodx.api.grad_rows`."""
    from . import api, batch, device, engine, limits
    from .result import Command, Result

    coords = api.Coords.of(limits.check_wrt(expr.variables, wrt), rows.layout)
    outputs = _output_texts(expr, rows)
    m, n = len(outputs), coords.n
    if m * n > engine.MAX_TENSOR_ENTRIES:
        raise InputError(f"the Jacobian has {m:,} x {n:,} entries (the limit is "
                         f"{engine.MAX_TENSOR_ENTRIES:,}); use --wrt to differentiate "
                         "fewer variables")
    limits.check_modes(expr.work, 1, "jacobian")
    run = engine.jacobian(lambda x, env: expr.fun(coords.merge(x, env)), forward=n <= m)

    def row(env):
        value, jac = run(coords.flat(env), env)
        return {"value": value, "jacobian": jac}
    key = [expr.text, list(expr.defs), "jacobian", coords.names]
    nodes = sum(e.info.cost.size for e in expr.items)
    work = device.measure(rows, device.Kind.linear, 1, min(m, n), nodes)
    template = Result(Command.jacobian, expr.text, coords.labels, None, {}, precision,
                      outputs=outputs)
    on_chunk = None if stream is None else \
        (lambda done, values: stream(replace(template, rows=done, values=values)))
    values = batch.run(row, rows, precision, progress, key=key, work=work, on_chunk=on_chunk)
    return replace(template, rows=rows.done, values=values)


def plan(expr: VectorExpression, at: Sequence[Any] = (), data: Any = None):
    """The rows: the ``at`` points, or the rows of ``data`` (a file, or arrays in
    memory as :func:`autodx.api.plan` takes them) with ``at`` giving the rest."""
    import os

    from . import data as D, frames

    if data is None:
        return D.points_plan(expr.variables, expr.vectors, at)
    if isinstance(data, (str, os.PathLike)):
        return D.data_plan(expr.variables, expr.vectors, at, os.fspath(data))
    return frames.data_plan(expr.variables, expr.vectors, at, data)


def jacobian(expr: str, at: Any = None, data: Any = None,
             wrt: Sequence[str] | str | None = None, defs: Sequence[str] = (),
             precision: int = 64) -> "np.ndarray":
    """The Jacobian (outputs x coordinates) at one point, or with ``data`` (a file, a
    dict of arrays, a 2-D array, a DataFrame) at every row: (rows, outputs,
    coordinates).

    Example:
        >>> jacobian("[x*y, x + y**2]", at={"x": 1, "y": 2}).tolist()
        [[2.0, 1.0], [1.0, 4.0]]
    """
    import numpy as np

    e = expression(expr, defs)
    rows = plan(e, [at] if at is not None else [], data)
    if data is None and rows.total != 1:
        rows.close()
        raise InputError(f"at= gives {rows.total:,} points; jacobian() takes one point, "
                         "or data= for many (a dict of arrays, a 2-D array, a file)")
    out = np.asarray(jacobian_rows(e, rows, wrt, precision).values["jacobian"])
    return out[0] if data is None else out
