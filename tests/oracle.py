"""An independent oracle: the expression language mapped onto sympy by hand.

Tests build expressions as nested tuples, print them as autodx text, and build the
same thing in sympy here, so the oracle shares no code with autodx's parser.
"""
from __future__ import annotations

import math

import sympy as sp

X, Y = sp.symbols("x y", real=True)

SYMPY = {
    "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "asin": sp.asin, "acos": sp.acos,
    "atan": sp.atan, "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh,
    "asinh": sp.asinh, "acosh": sp.acosh, "atanh": sp.atanh, "exp": sp.exp,
    "log": sp.log, "sqrt": sp.sqrt, "erf": sp.erf, "abs": sp.Abs,
    "sigmoid": lambda z: 1 / (1 + sp.exp(-z)), "atan2": sp.atan2,
    "cbrt": lambda z: sp.sign(z) * sp.Abs(z) ** sp.Rational(1, 3),
}


def derivative(expr, symbols, point: dict, digits: int = 30) -> float:
    """The partial derivative of ``expr`` along ``symbols`` (a list) at ``point``."""
    d = sp.diff(expr, *symbols) if symbols else expr
    return float(d.subs(point).evalf(digits))


def close(a: float, b: float, rel: float = 1e-9, scale: float = 1.0) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=rel * scale)
