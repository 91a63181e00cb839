"""The Taylor polynomial of an expression around a point, from grad's derivatives.

One variable: c_k = f^(k)(x0) / k!. Several (or a vector): every multi-index alpha of
total degree at most N, with coefficient D^alpha f(x0) / alpha!, read from the
symmetric derivative tensors (the entry of a sorted index tuple is that partial). The
polynomial's text is autodx's own expression language, with every coefficient and
every coordinate of the point written as its shortest round-trip decimal, so
``autodx series ... --format plain`` can be pasted back into autodx.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from .render import exact
from .result import Result


@dataclass(frozen=True)
class Term:
    """One term: ``coefficient * prod((x_i - a_i) ** power_i)``."""

    powers: tuple[int, ...]  # one per coordinate
    coefficient: float

    @property
    def degree(self) -> int:
        return sum(self.powers)


def terms(r: Result, row: int = 0) -> list[Term]:
    """The terms of the Taylor polynomial of a grad result at one of its rows, by degree
    (zero coefficients included, so the table shows every degree)."""
    n = len(r.coordinates)
    out = []
    for key in r.keys():
        powers = Counter(key)
        alpha = tuple(powers.get(i, 0) for i in range(n))
        factorial = math.prod(math.factorial(a) for a in alpha)
        out.append(Term(alpha, float(r.spec.value(r, row, key)) / factorial))
    return out


def monomial(r: Result, term: Term, row: int = 0) -> str:
    """``(x - 0.5)**2*y`` for a term's powers around row ``row``'s point; ``1`` for the
    constant term."""
    point = _flat_point(r, row)
    return "*".join(_power(_shifted(c, point[c]), p)
                    for c, p in zip(r.coordinates, term.powers) if p) or "1"


def text(r: Result, row: int = 0) -> str:
    """The polynomial as an expression autodx reads back (zero terms left out)."""
    return exact_text(r, [None] * len(r.keys()), None, row)


def exact_text(r: Result, coefficients: list, point: dict[str, str] | None,
               row: int = 0) -> str:
    """The polynomial with the exact coefficients of ``--symbolic`` (texts in autodx's
    language, None where there is none: that term keeps its number), around the exact
    ``point`` (coordinate label -> text; None: around the numbers of row ``row``)."""
    parts = []
    for term, c in zip(terms(r, row), coefficients):
        if c is None:
            if term.coefficient == 0.0:
                continue
            negative, c = term.coefficient < 0, exact(abs(term.coefficient))
        elif c == "0":
            continue
        else:
            negative = c.startswith("-") and not _compound(c)
            c = c[negative:]
        factors = monomial(r, term, row) if point is None else \
            "*".join(_power(_shifted_text(k, point[k]), p)
                     for k, p in zip(r.coordinates, term.powers) if p) or "1"
        if factors != "1" and _compound(c):
            c = f"({c})"
        body = factors if c in ("1", "1.0") and factors != "1" else \
            (c if factors == "1" else f"{c}*{factors}")
        parts.append(("- " if negative else "+ ") + body)
    if not parts:
        return "0"
    joined = " ".join(parts)
    return joined[2:] if joined.startswith("+ ") else "-" + joined[2:]


def _compound(text: str) -> bool:
    """Whether a sympy text is a sum (a + or - outside every parenthesis), so that it
    needs parentheses as a factor."""
    depth = 0
    for i, ch in enumerate(text):
        depth += (ch in "([") - (ch in ")]")
        if depth == 0 and ch in "+-" and i > 0 and text[i - 1] == " ":
            return True
    return False


def _shifted_text(coordinate: str, at: str) -> str:
    if at == "0":
        return coordinate
    if _compound(at):
        return f"({coordinate} - ({at}))"
    return f"({coordinate} + {at[1:]})" if at.startswith("-") else f"({coordinate} - {at})"


def _flat_point(r: Result, row: int) -> dict[str, float]:
    values = {}
    for name, v in r.rows.point(row).items():
        if isinstance(v, list):
            values.update({f"{name}[{i}]": x for i, x in enumerate(v)})
        else:
            values[name] = v
    return values


def _shifted(coordinate: str, at: float) -> str:
    if at == 0:
        return coordinate
    return f"({coordinate} {'-' if at > 0 else '+'} {exact(abs(at))})"


def _power(base: str, p: int) -> str:
    return base if p == 1 else f"{base}**{p}"
