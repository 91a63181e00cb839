"""Text -> validated expression tree.

A hand-written tokenizer and recursive-descent parser accept exactly the expression
language of the contract and nothing else: user text is never handed to ``eval``,
``exec``, ``ast`` or ``sympify``. Every node records the 1-based column it starts at,
so errors can point at it.

Grammar (``^`` is ``**``; a number directly followed by a name or ``(`` multiplies)::

    expr    := term (("+" | "-") term)*
    term    := unary (("*" | "/") unary)*
    unary   := ("-" | "+") unary | power
    power   := postfix (("**" | "^") unary)?
    postfix := NAME "[" ["-"] INT "]" | NAME "(" [expr ("," expr)*] ")" | atom
    atom    := NUMBER | NAME | "(" expr ")"
"""
from __future__ import annotations

import keyword
import math
import re
import sys
from dataclasses import dataclass, field

from .errors import ExpressionError

MAX_LENGTH = 10_000
MAX_DEPTH = 200

# A 10,000-character expression can be a chain of 5,000 terms: building, compiling and
# tracing its tree recurse once per level (Python-to-Python calls, which Python 3.11
# runs without growing the C stack), so allow that depth.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 40_000))

CONSTANTS = {"pi": math.pi, "E": math.e}

# name -> (fewest, most) arguments; None is "any number". compile.py maps the same
# names to JAX operations and checks at import that the two tables agree.
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    **{name: (1, 1) for name in (
        "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
        "asinh", "acosh", "atanh", "exp", "sqrt", "cbrt", "abs", "sign", "floor",
        "ceiling", "round", "erf", "sigmoid", "sum", "prod", "norm", "stop_gradient")},
    "atan2": (2, 2),
    "log": (1, 2),
    "min": (1, None),
    "max": (1, None),
    "dot": (2, 2),
    "diff": (2, 3),
}
VECTOR_FUNCTIONS = frozenset({"dot", "sum", "prod", "norm"})
RESERVED = frozenset(FUNCTIONS) | frozenset(CONSTANTS)


# ---------------------------------------------------------------- tree nodes

@dataclass(frozen=True)
class Node:
    col: int = field(compare=False)


@dataclass(frozen=True)
class Num(Node):
    value: float


@dataclass(frozen=True)
class Name(Node):
    id: str


@dataclass(frozen=True)
class Index(Node):
    id: str
    index: int


@dataclass(frozen=True)
class Neg(Node):
    operand: Node


@dataclass(frozen=True)
class Bin(Node):
    op: str  # one of + - * / **
    left: Node
    right: Node


@dataclass(frozen=True)
class Call(Node):
    func: str
    args: tuple[Node, ...]


# ---------------------------------------------------------------- tokens

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\*\*|[-+*/^()\[\],])
""", re.VERBOSE)

_WHY = {
    ".": "attribute access is not allowed",
    "'": "strings are not allowed",
    '"': "strings are not allowed",
    "=": "keyword arguments and assignments are not allowed",
    ":": "lambdas, slices and annotations are not allowed",
    "{": "braces are not allowed",
    ";": "only one expression is allowed",
}


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    col: int


def tokenize(text: str, source: str = "expression") -> list[_Tok]:
    """Split ``text`` into tokens, inserting ``*`` for implicit products like ``3x``."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"{len(text):,} characters, over the limit of {MAX_LENGTH:,}",
                              None, source)
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            ch = text[pos]
            why = _WHY.get(ch, "this character is not part of the expression language")
            raise ExpressionError(f"unexpected {ch!r}: {why}", pos + 1, source)
        kind = m.lastgroup
        if kind != "ws":
            tok = _Tok(kind, m.group(), pos + 1)
            _check_name(tok, source)
            prev = tokens[-1] if tokens else None
            if prev is not None and prev.kind == "num" and prev.col + len(prev.text) == tok.col \
                    and (kind == "name" or tok.text == "("):
                tokens.append(_Tok("op", "*", tok.col))  # implicit product: 3x, 2(x+1)
            tokens.append(tok)
        pos = m.end()
    tokens.append(_Tok("end", "", len(text) + 1))
    return tokens


def _check_name(tok: _Tok, source: str) -> None:
    if tok.kind != "name":
        return
    if tok.text.startswith("_"):
        raise ExpressionError(f"name {tok.text!r} is not allowed: names may not start "
                              "with '_'", tok.col, source)
    if keyword.iskeyword(tok.text) or tok.text in ("print", "eval", "exec"):
        raise ExpressionError(f"{tok.text!r} is not allowed in an expression", tok.col, source)


# ---------------------------------------------------------------- parser

class _Parser:
    def __init__(self, text: str, source: str):
        self.source = source
        self.tokens = tokenize(text, source)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> _Tok:
        return self.tokens[self.i]

    def fail(self, message: str, tok: _Tok | None = None) -> ExpressionError:
        return ExpressionError(message, (tok or self.tok).col, self.source)

    def take(self, text: str | None = None) -> _Tok:
        tok = self.tok
        if text is not None and tok.text != text:
            found = f"{tok.text!r}" if tok.kind != "end" else "the end"
            raise self.fail(f"expected {text!r} but found {found}")
        self.i += 1
        return tok

    def at(self, *texts: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in texts

    def whole(self) -> Node:
        if self.tok.kind == "end":
            raise self.fail("there is nothing to parse: the text is empty")
        node = self.expr()
        if self.tok.kind != "end":
            raise self.fail(f"unexpected {self.tok.text!r}: expected an operator or the end")
        return node

    def expr(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nesting is deeper than {MAX_DEPTH} levels")
        node = self.term()
        while self.at("+", "-"):
            op = self.take()
            node = Bin(op.col, op.text, node, self.term())
        self.depth -= 1
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.at("*", "/"):
            op = self.take()
            node = Bin(op.col, op.text, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.at("-", "+"):
            op = self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.fail(f"nesting is deeper than {MAX_DEPTH} levels", op)
            operand = self.unary()
            self.depth -= 1
            if op.text == "+":
                return operand
            if isinstance(operand, Num):
                return Num(op.col, -operand.value)
            return Neg(op.col, operand)
        return self.power()

    def power(self) -> Node:
        base = self.postfix()
        if self.at("**", "^"):
            op = self.take()
            return Bin(op.col, "**", base, self.unary())
        return base

    def postfix(self) -> Node:
        tok = self.tok
        if tok.kind == "name" and self.tokens[self.i + 1].text == "[":
            self.i += 2
            sign = -1 if self.at("-") and self.take() else 1
            idx = self.tok
            if idx.kind != "num" or not idx.text.isdigit():
                raise self.fail("an index must be an integer constant, like x[0]")
            self.i += 1
            self.take("]")
            if self.at("["):
                raise self.fail("only one index is allowed: vectors are one-dimensional")
            return Index(tok.col, tok.text, sign * int(idx.text))
        if tok.kind == "name" and self.tokens[self.i + 1].text == "(":
            self.i += 2
            args: list[Node] = []
            if not self.at(")"):
                args.append(self.expr())
                while self.at(","):
                    self.take()
                    args.append(self.expr())
            self.take(")")
            return Call(tok.col, tok.text, tuple(args))
        return self.atom()

    def atom(self) -> Node:
        tok = self.tok
        if tok.kind == "num":
            self.i += 1
            value = float(tok.text)
            if not math.isfinite(value):
                raise self.fail(f"number {tok.text} is too large", tok)
            return Num(tok.col, value)
        if tok.kind == "name":
            self.i += 1
            return Name(tok.col, tok.text)
        if self.at("("):
            self.take()
            node = self.expr()
            self.take(")")
            return node
        if tok.kind == "end":
            raise self.fail("the expression ends too early: an operand is missing")
        raise self.fail(f"unexpected {tok.text!r}: expected a number, a name or '('")


def parse(text: str, source: str = "expression") -> Node:
    """Parse ``text`` into a tree of allowed nodes; raise ExpressionError otherwise.

    Args:
        text: an expression such as ``"3x^2 + sin(y)"``.
        source: what to call the text in error messages.

    Returns:
        The root :class:`Node`.

    Example:
        >>> parse("3x^2")
        Bin(col=2, op='*', left=Num(col=1, value=3.0), right=Bin(col=3, op='**', left=Name(col=3, id='x'), right=Num(col=4, value=2.0)))
    """
    return _Parser(text, source).whole()


# ---------------------------------------------------------------- --def helpers

_DEF_HEAD = re.compile(r"\s*([A-Za-z][A-Za-z0-9_]*)\s*\(([^()]*)\)\s*=(?!=)")
_PARAM = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Helper:
    """A function defined with ``--def "NAME(ARGS) = BODY"``."""

    name: str
    params: tuple[str, ...]
    body: Node
    text: str


def parse_def(text: str) -> Helper:
    """Parse one ``--def`` text such as ``"L(w) = (w*a - 1)**2"``."""
    source = f"--def {text!r}"
    m = _DEF_HEAD.match(text)
    if m is None:
        raise ExpressionError('must look like "NAME(ARGS) = BODY", e.g. "f(u, v) = u*v"',
                              None, source)
    name, raw = m.group(1), m.group(2)
    params = tuple(p.strip() for p in raw.split(",")) if raw.strip() else ()
    for p in params:
        if not _PARAM.fullmatch(p) or keyword.iskeyword(p) or "__" in p:
            raise ExpressionError(f"parameter {p!r} is not a valid name", None, source)
        if p in RESERVED:
            raise ExpressionError(f"parameter {p!r} is the name of a built-in", None, source)
    if len(set(params)) != len(params):
        raise ExpressionError("a parameter name is repeated", None, source)
    if name in RESERVED or keyword.iskeyword(name) or "__" in name:
        raise ExpressionError(f"{name!r} is a built-in name and cannot be redefined",
                              None, source)
    body_text = text[m.end():]
    body = parse(body_text, source=f"--def {name}")
    return Helper(name, params, body, text)


def parse_expression(text: str, defs=()) -> tuple[Node, dict[str, Helper], "Info"]:
    """Parse and check ``text`` with its ``--def`` helpers: (tree, helpers, info)."""
    helpers: dict[str, Helper] = {}
    for d in defs:
        helper = parse_def(d)
        if helper.name in helpers:
            raise ExpressionError(f"{helper.name!r} is defined twice", None, f"--def {d!r}")
        helpers[helper.name] = helper
    tree = parse(text)
    return tree, helpers, analyze(tree, helpers)


# ---------------------------------------------------------------- meaning

@dataclass
class Info:
    """What an expression uses: its free variables (name -> first column) and which of
    them must be vectors (name -> why)."""

    variables: dict[str, int] = field(default_factory=dict)
    vectors: dict[str, str] = field(default_factory=dict)


def analyze(tree: Node, helpers: dict[str, Helper], source: str = "expression") -> Info:
    """Check every name and call of ``tree`` and collect its variables.

    Raises ExpressionError for an unknown function, a wrong number of arguments, a
    function used as a value, a constant indexed, or a helper that calls itself.
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
        if node.func in FUNCTIONS:
            _check_arity(node, *FUNCTIONS[node.func], source)
            if node.func == "diff":
                self.diff(node, scope, source, stack)
                return
            if node.func in VECTOR_FUNCTIONS:
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
    import difflib

    known = sorted(FUNCTIONS) + sorted(helpers)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]}()?" if close else \
        "; define it with --def, or see `autodx grad --help` for the functions"
    return f"unknown function {name!r}{hint}"
