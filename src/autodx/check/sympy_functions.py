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
