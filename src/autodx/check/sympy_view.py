"""The symbolic view: the validated expression tree (never the user's text) translated
node by node into sympy, following autodx's meaning of each construct, and printed back
as text in autodx's own spelling.
"""
from __future__ import annotations

import fractions
import math
from typing import Any, Callable

import sympy as sp
from sympy.printing.str import StrPrinter

from .. import parse as P
from ..errors import ExpressionError


# ---------------------------------------------------------------- functions sympy lacks

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


_SIMPLE = {
    "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "asin": sp.asin, "acos": sp.acos,
    "atan": sp.atan, "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh, "asinh": sp.asinh,
    "acosh": sp.acosh, "atanh": sp.atanh, "exp": sp.exp, "sqrt": sp.sqrt, "erf": sp.erf,
    "abs": sp.Abs, "sign": sp.sign, "cbrt": cbrt, "sigmoid": sigmoid, "floor": floor,
    "ceiling": ceiling, "round": round, "stop_gradient": stop_gradient,
}


# ---------------------------------------------------------------- tree -> sympy

Value = Any  # a sympy expression, or a list of them for a vector


def number(value: float) -> sp.Expr:
    """The exact rational of a number's shortest decimal text: 0.1 is 1/10."""
    q = fractions.Fraction(repr(float(value)))
    return sp.Integer(q.numerator) if q.denominator == 1 else sp.Rational(q.numerator,
                                                                         q.denominator)


def symbols(layout: dict[str, int | None]) -> dict[str, Value]:
    """A real sympy symbol per scalar variable, one per entry of a vector (``z[0]``)."""
    return {name: sp.Symbol(name, real=True) if size is None else
            [sp.Symbol(f"{name}[{i}]", real=True) for i in range(size)]
            for name, size in layout.items()}


def to_sympy(tree: P.Node, helpers: dict[str, P.Helper], env: dict[str, Value]) -> Value:
    """The sympy expression of a validated tree, with variables taken from ``env``."""
    return _Translator(helpers).build(tree, env)


def _map(fn: Callable, *args: Value) -> Value:
    """Apply a scalar function elementwise, broadcasting scalars against vectors."""
    sizes = {len(a) for a in args if isinstance(a, list)}
    if not sizes:
        return fn(*args)
    if len(sizes) > 1:
        raise ExpressionError("vectors of different lengths: " + ", ".join(map(str, sizes)))
    n = sizes.pop()
    return [fn(*(a[i] if isinstance(a, list) else a for a in args)) for i in range(n)]


def _power(a, b):
    """a**b, left unevaluated when both are numbers and the exact result would have more
    than 1,000 digits (9**9**9 is a 370-million-digit integer)."""
    if isinstance(a, sp.Number) and isinstance(b, sp.Number) and a != 0:
        digits = float(b) * math.log10(abs(float(a))) if abs(float(a)) != 1 else 0
        if abs(digits) > 1000:
            return sp.Pow(a, b, evaluate=False)
    return a ** b


def _vector(name: str, v: Value) -> list:
    if not isinstance(v, list):
        raise ExpressionError(f"{name}() needs a vector argument, got a scalar")
    return v


class _Translator:
    def __init__(self, helpers: dict[str, P.Helper]):
        self.helpers = helpers

    def build(self, node: P.Node, env: dict[str, Value]) -> Value:
        if isinstance(node, P.Num):
            return number(node.value)
        if isinstance(node, P.Name):
            if node.id == "pi":
                return sp.pi
            if node.id == "E":
                return sp.E
            return env[node.id]
        if isinstance(node, P.Index):
            v = env[node.id]
            if not isinstance(v, list) or not -len(v) <= node.index < len(v):
                raise ExpressionError(f"{node.id}[{node.index}] is not an entry of a vector",
                                      node.col)
            return v[node.index]
        if isinstance(node, P.Neg):
            return _map(lambda a: -a, self.build(node.operand, env))
        if isinstance(node, P.Bin):
            left, right = self.build(node.left, env), self.build(node.right, env)
            op = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
                  "/": lambda a, b: a / b, "**": _power}[node.op]
            return _map(op, left, right)
        assert isinstance(node, P.Call), node
        return self.call(node, env)

    def call(self, node: P.Call, env: dict[str, Value]) -> Value:
        name = node.func
        if name == "diff":
            return self.diff(node, env)
        args = [self.build(a, env) for a in node.args]
        if name in self.helpers:
            helper = self.helpers[name]
            return self.build(helper.body, {**env, **dict(zip(helper.params, args))})
        if name in _SIMPLE:
            return _map(_SIMPLE[name], *args)
        if name == "log":
            return _map(sp.log, args[0]) if len(args) == 1 else \
                _map(lambda x, b: sp.log(x) / sp.log(b), *args)
        if name == "atan2":
            return _map(sp.atan2, *args)
        if name in ("min", "max"):
            fn = sp.Min if name == "min" else sp.Max
            return fn(*args[0]) if len(args) == 1 and isinstance(args[0], list) else \
                _map(fn, *args)
        if name == "dot":
            a, b = _vector("dot", args[0]), _vector("dot", args[1])
            if len(a) != len(b):
                raise ExpressionError(f"dot() of vectors of lengths {len(a)} and {len(b)}",
                                      node.col)
            return sp.Add(*(x * y for x, y in zip(a, b)))
        if name == "sum":
            return sp.Add(*_vector("sum", args[0]))
        if name == "prod":
            return sp.Mul(*_vector("prod", args[0]))
        if name == "norm":
            return sp.sqrt(sp.Add(*(x ** 2 for x in _vector("norm", args[0]))))
        raise ExpressionError(f"unknown function {name!r}", node.col)

    def diff(self, node: P.Call, env: dict[str, Value]) -> Value:
        """diff(e, v, n): e differentiated in v as an independent input, then v put back."""
        var = node.args[1].id
        n = int(node.args[2].value) if len(node.args) > 2 else 1
        here = env[var]
        if isinstance(here, list):
            if n != 1:
                raise ExpressionError(f"diff(e, {var}, {n}): {var} is a vector; only the "
                                      "gradient (n = 1) is available", node.col)
            ts = [sp.Dummy(f"{var}{i}", real=True) for i in range(len(here))]
            inner = self.build(node.args[0], {**env, var: ts})
            if isinstance(inner, list):
                raise ExpressionError(f"diff(e, {var}) with vector {var} needs a scalar e",
                                      node.col)
            back = dict(zip(ts, here))
            return [sp.diff(inner, t).xreplace(back) for t in ts]
        t = sp.Dummy(var, real=True)
        inner = self.build(node.args[0], {**env, var: t})
        return _map(lambda e: sp.diff(e, t, n).xreplace({t: here}), inner)


class _Printer(StrPrinter):
    """sympy's text, in the names of autodx's expression language where they differ."""

    def _print_Abs(self, e):
        return f"abs({self._print(e.args[0])})"


def text(e: Value) -> str:
    """An expression as text, e.g. ``3*x**2 + 4*x - 3``."""
    return _Printer().doprint(e)
