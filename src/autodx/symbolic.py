"""Derivative formulas from Python: :func:`formula`, the Python side of ``autodx grad
--symbolic`` without a point.

sympy works in the symbolic worker (:mod:`autodx.check.worker`, a process of its own
with a time and memory limit), never in the caller's process; the formulas come back
as text in autodx's language, which autodx reads back. In Jupyter a :class:`Formula`
shows as LaTeX (:mod:`autodx.check.latex`, made when first shown).

Example:
    >>> f = formula("x**3 + 2*x**2 - 3*x + 1", order=2)
    >>> f.derivatives
    {1: '3*x**2 + 4*x - 3', 2: '6*x + 4'}
"""
from __future__ import annotations

import itertools
from typing import Any, Sequence

from .result import Command, Result, partial_label
from .views import html_table, text_table

TIMEOUT = 10.0  # seconds sympy may take, by default


class Formula:
    """The symbolic value and derivatives of orders 1..order of an expression.

    Attributes:
        text: the expression.
        coordinates: the differentiated variables, in order.
        value: f as sympy writes it (in autodx's language).
        derivatives: order k -> the text of the k-th derivative (one variable), or the
            nested lists of the texts of the k-th derivative tensor.
    """

    def __init__(self, result: Result, defs: Sequence[str]):
        self._result, self.defs = result, list(defs)
        self.text, self.coordinates = result.expression, list(result.coordinates)
        self.order = result.order
        row = result.symbolic_json()
        self.value: str = row["value"]
        self.derivatives: dict[int, Any] = {int(k): v for k, v in row["derivatives"].items()}
        self._latex: list[str | None] = []

    def entries(self) -> list[tuple[str, str]]:
        """``[("f", text), ("df/dx", text), ...]``: f and each distinct partial once."""
        return [(self._label(key), text) for key, text in
                zip(self._result.keys(), self._result.symbolic or [])]

    def _label(self, key: list[int]) -> str:
        return "f" if not key else partial_label(self.coordinates, key)

    def __repr__(self) -> str:
        return text_table(f"Formula of {self.text}", None, [list(e) for e in self.entries()])

    def _repr_html_(self) -> str:
        return html_table(f"grad of {self.text}", ["", "formula"],
                          [list(e) for e in self.entries()])

    def _repr_latex_(self) -> str | None:
        """Every entry as a line of LaTeX (None, so that Jupyter shows the text, when
        sympy cannot write them all within the time limit)."""
        if not self._latex:
            from .check.latex import latex

            names, texts = latex([t for _, t in self.entries()], self.defs,
                                 self.coordinates)
            lines = [f"{self._latex_label(key, names)} &= {t}"
                     for key, t in zip(self._result.keys(), texts)]
            self._latex.append(None if None in texts else
                               "$\\begin{aligned}" + " \\\\ ".join(lines) + "\\end{aligned}$")
        return self._latex[0]

    def _latex_label(self, key: list[int], names: dict[str, str]) -> str:
        if not key:
            return "f"
        d = "d" if len(self.coordinates) == 1 else "\\partial"
        k = len(key)
        top = d if k == 1 else f"{d}^{{{k}}}"
        parts = []
        for i, group in itertools.groupby(sorted(key)):
            power = len(list(group))
            name = names.get(self.coordinates[i], self.coordinates[i])
            parts.append(f"{d} {name}" + (f"^{{{power}}}" if power > 1 else ""))
        return f"\\frac{{{top} f}}{{{' '.join(parts)}}}"


def formula(expr: str, order: int = 1, wrt: Sequence[str] | str | None = None,
            defs: Sequence[str] = (), timeout: float = TIMEOUT) -> Formula:
    """The symbolic derivatives of orders 1..order, by sympy in the symbolic worker.

    Args:
        expr: expression text; its variables must be numbers (a vector's length comes
            only from its value).
        order: highest derivative order.
        wrt: the variables to differentiate in (default: all).
        defs: helper definitions, ``"L(u) = (u*a - 1)**2"``.
        timeout: seconds sympy may take; past them an :class:`autodx.errors.InputError`.

    Returns:
        A :class:`Formula`.

    Example:
        >>> formula("x*y**2", order=2).derivatives[2]
        [['0', '2*y'], ['2*y', '2*x']]
    """
    from .check.session import formulas

    result = formulas(Command.grad, expr, list(defs), wrt, timeout, order=order)
    return Formula(result, defs)
