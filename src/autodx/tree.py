"""The expression tree, and the one walk every evaluator of it shares.

:func:`autodx.parse.parse` builds the tree; :class:`Interpreter` walks a validated one.
The compiler (values are JAX functions of an environment), Taylor mode (values are
series) and the sympy view (values are sympy expressions) are its subclasses: each says
what a number, a variable, an operator and a registered function are, and the walk
itself (constants, ``--def`` helpers binding their parameters, where ``diff`` goes) is
written once, here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .registry import FUNCTIONS, Function

# sympy's names for its constants, as its str() prints them (the Euler-Mascheroni
# constant in the series of gamma, digamma, loggamma at 1; Catalan's; the golden ratio)
CONSTANTS = {"pi": math.pi, "E": math.e, "EulerGamma": 0.5772156649015329,
             "Catalan": 0.915965594177219, "GoldenRatio": (1 + math.sqrt(5)) / 2,
             "True": 1.0, "False": 0.0}


@dataclass(frozen=True)
class Node:
    col: int = field(compare=False)


@dataclass(frozen=True)
class Num(Node):
    """A number constant."""

    value: float


@dataclass(frozen=True)
class Name(Node):
    """A variable, a constant (pi, E) or a helper parameter."""

    id: str


@dataclass(frozen=True)
class Index(Node):
    """An entry of a vector variable: ``x[0]``, ``x[-1]``."""

    id: str
    index: int


@dataclass(frozen=True)
class Neg(Node):
    """Unary minus."""

    operand: Node


@dataclass(frozen=True)
class Bin(Node):
    """A binary operation."""

    op: str  # one of + - * / **
    left: Node
    right: Node


@dataclass(frozen=True)
class Call(Node):
    """A call of a registered function or a ``--def`` helper."""

    func: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Helper:
    """A function defined with ``--def "NAME(ARGS) = BODY"``."""

    name: str
    params: tuple[str, ...]
    body: Node
    text: str


@dataclass(frozen=True)
class Scope:
    """What the names of the tree being walked stand for: the expression's variables,
    and the parameters of the helper whose body it is. A helper's body sees the
    variables and its own parameters, never its caller's: its other names are the
    expression's variables, as :func:`autodx.analyze.analyze` found them."""

    variables: dict
    params: dict = field(default_factory=dict)

    def __contains__(self, name: str) -> bool:
        return name in self.params or name in self.variables

    def __getitem__(self, name: str) -> Any:
        return self.params[name] if name in self.params else self.variables[name]

    def bind(self, name: str, value: Any) -> Scope:
        """The same scope with ``name`` standing for ``value`` (what diff varies)."""
        if name in self.params:
            return Scope(self.variables, {**self.params, name: value})
        return Scope({**self.variables, name: value}, self.params)

    def enter(self, helper: Helper, args: list) -> Scope:
        """The scope of ``helper``'s body, its parameters bound to ``args``."""
        return Scope(self.variables, dict(zip(helper.params, args)))


class Interpreter:
    """Evaluate a validated tree (see :func:`autodx.analyze.analyze`) in a scope.

    A helper call evaluates the helper's body in a scope of its own (:class:`Scope`),
    its parameters bound to the arguments' values; a ``diff`` goes to :meth:`diff`;
    every other call to :meth:`function` with the function's registry entry.
    """

    def __init__(self, helpers: dict[str, Helper]):
        self.helpers = helpers

    def run(self, tree: Node, variables: dict) -> Any:
        """The value of ``tree`` with the expression's variables taken from ``variables``."""
        return self.eval(tree, Scope(variables))

    def eval(self, node: Node, scope: Scope) -> Any:
        if isinstance(node, Num):
            return self.number(node.value)
        if isinstance(node, Name):
            if node.id in CONSTANTS:
                return self.constant(node.id)
            return self.variable(node.id, scope)
        if isinstance(node, Index):
            return self.index(node, self.variable(node.id, scope))
        if isinstance(node, Neg):
            return self.negate(self.eval(node.operand, scope))
        if isinstance(node, Bin):
            return self.binary(node, self.eval(node.left, scope), self.eval(node.right, scope))
        assert isinstance(node, Call), node
        return self.call(node, scope)

    def call(self, node: Call, scope: Scope) -> Any:
        if node.func == "diff":
            return self.diff(node, scope)
        args = [self.eval(a, scope) for a in node.args]
        if node.func in self.helpers:
            return self.helper(self.helpers[node.func], args, scope)
        return self.function(node, FUNCTIONS[node.func], args)

    def helper(self, helper: Helper, args: list, scope: Scope) -> Any:
        """The helper's body, with its parameters bound to the arguments' values."""
        return self.eval(helper.body, scope.enter(helper, args))

    # ------------------------------------------------ what a value is, per subclass

    def number(self, value: float) -> Any:
        return value

    def constant(self, name: str) -> Any:
        return self.number(CONSTANTS[name])

    def variable(self, name: str, scope: Scope) -> Any:
        return scope[name]

    def index(self, node: Index, value: Any) -> Any:
        raise NotImplementedError

    def negate(self, value: Any) -> Any:
        raise NotImplementedError

    def binary(self, node: Bin, left: Any, right: Any) -> Any:
        raise NotImplementedError

    def function(self, node: Call, fn: Function, args: list) -> Any:
        raise NotImplementedError

    def diff(self, node: Call, scope: Scope) -> Any:
        """``diff(e, v, n)``: e differentiated n times in v (see the registry entry)."""
        raise NotImplementedError
