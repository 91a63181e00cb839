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
    "cot": sp.cot, "sec": sp.sec, "csc": sp.csc, "acot": sp.acot, "asec": sp.asec,
    "acsc": sp.acsc, "coth": sp.coth, "sech": sp.sech, "csch": sp.csch, "acoth": sp.acoth,
    "asech": sp.asech, "acsch": sp.acsch, "sinc": sp.sinc, "expm1": lambda z: sp.exp(z) - 1,
    "log1p": lambda z: sp.log(1 + z), "exp2": lambda z: 2 ** z,
    "log10": lambda z: sp.log(z) / sp.log(10), "log2": lambda z: sp.log(z) / sp.log(2),
    "square": lambda z: z ** 2, "rsqrt": lambda z: 1 / sp.sqrt(z),
    "logit": lambda z: sp.log(z / (1 - z)), "erfc": sp.erfc, "erfinv": sp.erfinv,
    "gamma": sp.gamma, "loggamma": sp.loggamma, "digamma": sp.digamma,
    "factorial": sp.factorial, "LambertW": sp.LambertW, "zeta": sp.zeta, "Float": lambda z: z,
    "frac": lambda z: z - sp.floor(z),
    # several arguments
    "root": sp.root, "hypot": lambda a, b: sp.sqrt(a ** 2 + b ** 2),
    "logaddexp": lambda a, b: sp.log(sp.exp(a) + sp.exp(b)), "Rational": lambda p, q: p / q,
    "Mod": sp.Mod, "polygamma": sp.polygamma, "beta": sp.beta, "binomial": sp.binomial,
    "besselj": sp.besselj, "besseli": sp.besseli,
}


def derivative(expr, symbols, point: dict, digits: int = 30) -> float:
    """The partial derivative of ``expr`` along ``symbols`` (a list) at ``point``."""
    d = sp.diff(expr, *symbols) if symbols else expr
    return float(d.subs(point).evalf(digits))


def close(a: float, b: float, rel: float = 1e-9, scale: float = 1.0) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=rel * scale)
