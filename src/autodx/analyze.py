"""The meaning checks of a parsed tree: every name and call is known and well formed.

:func:`analyze` rejects an unknown function, a wrong number of arguments, a function
used as a value, a constant indexed, a malformed ``diff`` and a helper that calls
itself, and collects what the expression needs from its caller: its free variables,
and which of them must be vectors.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ExpressionError
from .registry import FUNCTIONS
from .tree import CONSTANTS, Bin, Call, Helper, Index, Name, Neg, Node, Num


@dataclass
class Info:
    """What an expression uses: its free variables (name -> first column) and which of
    them must be vectors (name -> why)."""

    variables: dict[str, int] = field(default_factory=dict)
    vectors: dict[str, str] = field(default_factory=dict)


def analyze(tree: Node, helpers: dict[str, Helper], source: str = "expression") -> Info:
    """Check every name and call of ``tree`` and collect its variables.

    Args:
        tree: the root from :func:`autodx.parse.parse`.
        helpers: the ``--def`` helpers by name.
        source: what to call the text in error messages.

    Returns:
        The :class:`Info` of the expression.

    Raises ExpressionError for an unknown function, a wrong number of arguments, a
    function used as a value, a constant indexed, or a helper that calls itself.

    Example:
        >>> from autodx.parse import parse
        >>> analyze(parse("sum(v) + x"), {})
        Info(variables={'v': 5, 'x': 10}, vectors={'v': 'it is passed to sum() at column 1'})
    """
    info = Info()
    _Walker(info, helpers).walk(tree, frozenset(), source, ())
    return info


class _Walker:
    def __init__(self, info: Info, helpers: dict[str, Helper]):
        self.info = info
        self.helpers = helpers

    def variable(self, name: str, col: int, scope: frozenset, source: str) -> None:
        if name in scope:
            return
        if name in CONSTANTS:
            return
        if name in FUNCTIONS or name in self.helpers:
            raise ExpressionError(f"{name!r} is a function: call it as {name}(...)", col, source)
        self.info.variables.setdefault(name, col)

    def vector(self, name: str, why: str, scope: frozenset) -> None:
        if name not in scope:
            self.info.vectors.setdefault(name, why)

    def walk(self, node: Node, scope: frozenset, source: str, stack: tuple[str, ...]) -> None:
        if isinstance(node, Num):
            return
        if isinstance(node, Name):
            self.variable(node.id, node.col, scope, source)
        elif isinstance(node, Index):
            if node.id in CONSTANTS:
                raise ExpressionError(f"the constant {node.id} cannot be indexed", node.col, source)
            self.variable(node.id, node.col, scope, source)
            self.vector(node.id, f"it is indexed at column {node.col}", scope)
        elif isinstance(node, Neg):
            self.walk(node.operand, scope, source, stack)
        elif isinstance(node, Bin):
            self.walk(node.left, scope, source, stack)
            self.walk(node.right, scope, source, stack)
        elif isinstance(node, Call):
            self.call(node, scope, source, stack)

    def call(self, node: Call, scope: frozenset, source: str, stack: tuple[str, ...]) -> None:
        fn = FUNCTIONS.get(node.func)
        if fn is not None:
            _check_arity(node, *fn.arity, source)
            if node.func == "diff":
                self.diff(node, scope, source, stack)
                return
            if fn.vector:
                for arg in node.args:
                    if isinstance(arg, Name):
                        self.vector(arg.id, f"it is passed to {node.func}() at column {node.col}",
                                    scope)
        elif node.func in self.helpers:
            helper = self.helpers[node.func]
            _check_arity(node, len(helper.params), len(helper.params), source)
            if helper.name in stack:
                raise ExpressionError(f"helper {helper.name!r} calls itself; recursion is "
                                      "not allowed", node.col, source)
            self.walk(helper.body, frozenset(helper.params), f"--def {helper.name}",
                      stack + (helper.name,))
        else:
            raise ExpressionError(_unknown(node.func, self.helpers), node.col, source)
        for arg in node.args:
            self.walk(arg, scope, source, stack)

    def diff(self, node: Call, scope: frozenset, source: str, stack: tuple[str, ...]) -> None:
        expr, var, *rest = node.args
        if not isinstance(var, Name) or var.id in CONSTANTS:
            raise ExpressionError("the second argument of diff() must be a variable name, "
                                  "as in diff(x**2, x)", var.col, source)
        if rest:
            n = rest[0]
            if not isinstance(n, Num) or n.value != int(n.value) or not 0 <= n.value <= 10:
                raise ExpressionError("the order in diff(e, v, n) must be an integer "
                                      "constant from 0 to 10", n.col, source)
        self.walk(expr, scope, source, stack)
        self.variable(var.id, var.col, scope, source)


def _check_arity(node: Call, low: int, high: int | None, source: str) -> None:
    n = len(node.args)
    if n < low or (high is not None and n > high):
        if high is None:
            want = f"at least {low}"
        elif low == high:
            want = f"{low}"
        else:
            want = f"{low} to {high}"
        raise ExpressionError(f"{node.func}() takes {want} argument{'s' if want != '1' else ''}"
                              f", not {n}", node.col, source)


def _unknown(name: str, helpers: dict[str, Helper]) -> str:
    import difflib  # on first use: an error path

    known = sorted(FUNCTIONS) + sorted(helpers)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]}()?" if close else \
        "; define it with --def, or see `autodx grad --help` for the functions"
    return f"unknown function {name!r}{hint}"
