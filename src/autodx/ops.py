"""The JAX operation of each binary operator of the language, shared by every evaluator
of the tree (:mod:`autodx.compile`, :mod:`autodx.taylor`, :mod:`autodx.partial`)."""
from __future__ import annotations

import math
import operator
from typing import Callable

from ._jax import jax  # noqa: F401  (configured first: float64)
import jax.numpy as jnp
from jax import lax

from .tree import Bin, Num


def _divide(a, b):
    """a / b, and for two Python numbers what float arithmetic gives (1/0 is inf, 0/0
    nan) instead of ZeroDivisionError."""
    try:
        return a / b
    except ZeroDivisionError:
        return math.nan if a == 0 or a != a else math.copysign(math.inf, a) * \
            math.copysign(1.0, b)


_BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": _divide}


def binary_op(node: Bin) -> Callable:
    """The JAX operation of a binary node; ``x**n`` for an integer constant n is
    ``integer_pow``: exact, defined for negative x, and jet has a rule for it."""
    if node.op != "**":
        return _BINARY[node.op]
    exponent = node.right
    if isinstance(exponent, Num) and exponent.value == int(exponent.value) \
            and abs(exponent.value) <= 1024:
        n = int(exponent.value)
        return lambda a, _: lax.integer_pow(jnp.asarray(a), n)
    return jnp.power
