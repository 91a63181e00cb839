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
from ..registry import FUNCTIONS, Function, Lazy
from ..tree import Interpreter, Scope
from .sympy_functions import number as _as_number


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
    """The sympy expression of a validated tree, with variables taken from ``env``; a
    condition (``x > 0``) is the number 1 where it holds, 0 elsewhere."""
    return _map(_as_number, _Translator(helpers).run(tree, env))


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


_BINARY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
           "/": lambda a, b: a / b, "**": _power}
_CONSTANTS = {"pi": sp.pi, "E": sp.E, "EulerGamma": sp.EulerGamma, "Catalan": sp.Catalan,
              "GoldenRatio": sp.GoldenRatio, "True": sp.true, "False": sp.false}
_CONDITIONS = frozenset({"And", "Or", "Not", "Piecewise"})  # take conditions as they are


class _Translator(Interpreter):
    """Values are sympy expressions, or lists of them for vectors."""

    def number(self, value: float) -> Value:
        return number(value)

    def constant(self, name: str) -> Value:
        return _CONSTANTS[name]

    def index(self, node: P.Index, v: Value) -> Value:
        if not isinstance(v, list) or not -len(v) <= node.index < len(v):
            raise ExpressionError(f"{node.id}[{node.index}] is not an entry of a vector",
                                  node.col)
        return v[node.index]

    def negate(self, v: Value) -> Value:
        return _map(lambda a: -_as_number(a), v)

    def binary(self, node: P.Bin, left: Value, right: Value) -> Value:
        op = _BINARY[node.op]
        return _map(lambda a, b: op(_as_number(a), _as_number(b)), left, right)

    def function(self, node: P.Call, fn: Function, args: list) -> Value:
        """Elementwise, except what the registry says takes whole vectors; min and max
        (any number of arguments) of one vector reduce it."""
        if fn.name not in _CONDITIONS:
            args = [_map(_as_number, a) for a in args]
        try:
            if fn.vector:
                return fn.sympy(*args)
            if fn.arity[1] is None and len(args) == 1 and isinstance(args[0], list):
                return fn.sympy(*args[0])
            return _map(fn.sympy, *args)
        except ExpressionError as e:
            if e.column is not None:
                raise
            raise ExpressionError(e.message, node.col) from None

    def diff(self, node: P.Call, scope: Scope) -> Value:
        """diff(e, v, n): e differentiated in v as an independent input, then v put back."""
        var = node.args[1].id
        n = int(node.args[2].value) if len(node.args) > 2 else 1
        here = scope[var]
        if isinstance(here, list):
            if n != 1:
                raise ExpressionError(f"diff(e, {var}, {n}): {var} is a vector; only the "
                                      "gradient (n = 1) is available", node.col)
            ts = [sp.Dummy(f"{var}{i}", real=True) for i in range(len(here))]
            inner = self.eval(node.args[0], scope.bind(var, ts))
            if isinstance(inner, list):
                raise ExpressionError(f"diff(e, {var}) with vector {var} needs a scalar e",
                                      node.col)
            back = dict(zip(ts, here))
            return [sp.diff(inner, t).xreplace(back) for t in ts]
        t = sp.Dummy(var, real=True)
        inner = self.eval(node.args[0], scope.bind(var, t))
        return _map(lambda e: sp.diff(e, t, n).xreplace({t: here}), inner)


def sympy_classes() -> dict[type, Function]:
    """The registry's entries by the sympy class their translation produces (``sp.Abs``
    for ``abs``); an entry that writes itself out, or builds a power (``sqrt``), has none."""
    return {f.sympy.target: f for f in FUNCTIONS.values()
            if isinstance(f.sympy, Lazy) and isinstance(f.sympy.target, type)}


# A sympy class whose name is not autodx's (Abs, Min, Max) is printed in autodx's spelling
_SPELLING = {cls.__name__: f.printed for cls, f in sympy_classes().items()
             if isinstance(f.printed, str) and cls.__name__ != f.printed}


class _Printer(StrPrinter):
    """sympy's text, in the names of autodx's expression language where they differ."""

    def _print_Function(self, e):
        return self._spelled(e, super()._print_Function(e))

    def _print_LatticeOp(self, e):  # Min, Max
        return self._spelled(e, super()._print_LatticeOp(e))

    def _spelled(self, e, out: str) -> str:
        name = type(e).__name__
        return _SPELLING[name] + out[len(name):] if name in _SPELLING else out


def text(e: Value) -> str:
    """An expression as text, e.g. ``3*x**2 + 4*x - 3``."""
    return _Printer().doprint(e)
