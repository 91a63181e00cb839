"""The functions of autodx's language that sympy lacks, or defines otherwise, as sympy
classes with autodx's meaning and their derivatives. The registry
(:mod:`autodx.registry`) names them as the sympy part of their entries.
"""
from __future__ import annotations

import sympy as sp


class stop_gradient(sp.Function):  # noqa: N801  (printed as written)
    """The value of its argument, with derivative zero, as autodx defines it."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sp.S.Zero


class sigmoid(sp.Function):  # noqa: N801
    nargs = 1

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0]) * (1 - sigmoid(self.args[0]))


class cbrt(sp.Function):  # noqa: N801  (the real cube root: sympy's is complex for x < 0)
    nargs = 1

    def fdiff(self, argindex=1):
        return 1 / (3 * cbrt(self.args[0]) ** 2)


class _Step(sp.Function):
    """Piecewise constant: derivative zero away from its jumps."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sp.S.Zero


class floor(_Step):  # noqa: N801
    pass


class ceiling(_Step):  # noqa: N801
    pass


class round(_Step):  # noqa: N801,A001
    pass


class trunc(_Step):  # noqa: N801  (sympy has no trunc)
    pass


class frac(sp.Function):  # noqa: N801  (sympy's frac has no derivative)
    """x - floor(x): derivative 1 away from the integers."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sp.S.One


class Mod(sp.Function):
    """a - b floor(a/b), with the derivatives sympy's Mod leaves unevaluated."""

    nargs = 2

    def fdiff(self, argindex=1):
        a, b = self.args
        return sp.S.One if argindex == 1 else -floor(a / b)


# ---------------------------------------------------------------- conditions

def is_condition(v) -> bool:
    """A relational, And/Or/Not or True/False (a sympy Symbol is a Boolean too, and an
    Expr: it is a number here)."""
    return isinstance(v, sp.logic.boolalg.Boolean) and not isinstance(v, sp.Expr)


def boolean(v) -> sp.Basic:
    """A condition: itself if it is one, else ``v != 0`` (autodx's truth of a number)."""
    return v if is_condition(v) else sp.Ne(v, 0)


def number(v) -> sp.Basic:
    """A number: a condition is 1 where it holds and 0 elsewhere."""
    if v is sp.true:
        return sp.S.One
    if v is sp.false:
        return sp.S.Zero
    if is_condition(v):
        return sp.Piecewise((1, v), (0, True))
    return v


def logic_and(*args):
    return sp.And(*map(boolean, args))


def logic_or(*args):
    return sp.Or(*map(boolean, args))


def logic_not(arg):
    return sp.Not(boolean(arg))


def piecewise(*args):
    pairs = [(number(e), boolean(c)) for e, c in zip(args[::2], args[1::2])]
    return sp.Piecewise(*pairs)
