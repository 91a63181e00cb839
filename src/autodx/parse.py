"""Text -> validated expression tree.

A hand-written tokenizer and recursive-descent parser accept exactly the expression
language of the contract and nothing else: user text is never handed to ``eval``,
``exec``, ``ast`` or ``sympify``. Every node records the 1-based column it starts at,
so errors can point at it. The nodes are defined in :mod:`autodx.tree`, the meaning
checks in :mod:`autodx.analyze`; :func:`parse_expression` runs both steps, and the names
of both modules are importable from here.

Grammar (``^`` is ``**``; a number directly followed by a name or ``(`` multiplies)::

    expr    := and ("|" and)*                      Or(...)
    and     := not ("&" not)*                      And(...)
    not     := "~" not | compare                   Not(...)
    compare := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)*   Lt(...), ...
    sum     := term (("+" | "-") term)*
    term    := unary (("*" | "/" | "%") unary)*   a % b is Mod(a, b)
    unary   := ("-" | "+") unary | power
    power   := postfix (("**" | "^") unary)?
    postfix := NAME "[" ["-"] INT "]" | NAME "(" [expr ("," expr)*] ")" | atom
    atom    := NUMBER | NAME | "(" expr ")"

Conditions are calls of registry entries (``x > 0`` is ``Gt(x, 0)``), so what sympy
prints reads back: ``(x > 0) & (x < 1)``, ``Piecewise((x, x > 0), (0, True))`` (whose
arguments are ``(expression, condition)`` pairs), ``Derivative(e, x)`` and
``Derivative(e, (x, 2))`` (read as ``diff``), and a function's other spellings
(``Abs``, ``arcsin``, ``ln``: the registry's aliases) as the function itself.
"""
from __future__ import annotations

import keyword
import math
import re
import sys
from dataclasses import dataclass

from .analyze import Info, analyze
from .errors import ExpressionError
from .registry import COMPLEX, FUNCTIONS as _REGISTRY, SPELLINGS
from .tree import CONSTANTS, Bin, Call, Helper, Index, Name, Neg, Node, Num

__all__ = ["parse", "parse_def", "parse_expression", "tokenize", "analyze", "Info", "Helper",
           "Node", "Num", "Name", "Index", "Neg", "Bin", "Call", "CONSTANTS", "FUNCTIONS",
           "VECTOR_FUNCTIONS", "RESERVED", "MAX_LENGTH", "MAX_DEPTH"]

MAX_LENGTH = 10_000
MAX_DEPTH = 200

# A 10,000-character expression can be a chain of 5,000 terms: building, compiling and
# tracing its tree recurse once per level (Python-to-Python calls, which Python 3.11
# runs without growing the C stack), so allow that depth.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 40_000))

# Views of the registry (autodx.registry) for the names of the language: name ->
# (fewest, most) arguments, the functions that take whole vectors, and every name that
# a variable or --def helper may not take.
FUNCTIONS: dict[str, tuple[int, int | None]] = {n: f.arity for n, f in _REGISTRY.items()}
VECTOR_FUNCTIONS = frozenset(n for n, f in _REGISTRY.items() if f.vector)
RESERVED = frozenset(SPELLINGS) | frozenset(CONSTANTS) | frozenset(COMPLEX) | {"Derivative"}

_RELATIONS = {"<": "Lt", "<=": "Le", ">": "Gt", ">=": "Ge", "==": "Eq", "!=": "Ne"}
_BOOLEANS = ("True", "False")  # Python keywords, and sympy's conditions that always hold


# ---------------------------------------------------------------- tokens

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\*\*|<=|>=|==|!=|[-+*/^()\[\],<>%&|~])
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
    if (keyword.iskeyword(tok.text) and tok.text not in _BOOLEANS) or \
            tok.text in ("print", "eval", "exec"):
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
            prev = self.tokens[self.i - 1]
            if prev.kind == "name" and prev.text in FUNCTIONS and self.tok.kind in ("name",
                                                                                  "num"):
                raise self.fail(f"unexpected {self.tok.text!r}: did you mean "
                                f"{prev.text}({self.tok.text})? A function takes its "
                                "argument in parentheses")
            raise self.fail(f"unexpected {self.tok.text!r}: expected an operator or the end")
        return node

    def expr(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nesting is deeper than {MAX_DEPTH} levels")
        node = self.chain("|", "Or", self.conjunction)
        self.depth -= 1
        return node

    def chain(self, op: str, func: str, operand) -> Node:
        """operand (op operand)*: one n-ary call, as sympy's And and Or are."""
        first = operand()
        args = [first]
        while self.at(op):
            self.take()
            args.append(operand())
        return first if len(args) == 1 else Call(first.col, func, tuple(args))

    def conjunction(self) -> Node:
        return self.chain("&", "And", self.negation)

    def negation(self) -> Node:
        if self.at("~"):
            op = self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.fail(f"nesting is deeper than {MAX_DEPTH} levels", op)
            node = Call(op.col, "Not", (self.negation(),))
            self.depth -= 1
            return node
        return self.comparison()

    def comparison(self) -> Node:
        """a < b, and a chain a < b <= c as (a < b) & (b <= c)."""
        left = self.sum()
        tests: list[Node] = []
        while self.at(*_RELATIONS):
            op = self.take()
            right = self.sum()
            tests.append(Call(op.col, _RELATIONS[op.text], (left, right)))
            left = right
        if not tests:
            return left
        return tests[0] if len(tests) == 1 else Call(tests[0].col, "And", tuple(tests))

    def sum(self) -> Node:
        node = self.term()
        while self.at("+", "-"):
            op = self.take()
            node = Bin(op.col, op.text, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.at("*", "/", "%"):
            op = self.take()
            right = self.unary()
            node = Call(op.col, "Mod", (node, right)) if op.text == "%" else \
                Bin(op.col, op.text, node, right)
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
            self.depth += 1  # x**x**...**x nests to the right: count it as nesting
            if self.depth > MAX_DEPTH:
                raise self.fail(f"nesting is deeper than {MAX_DEPTH} levels", op)
            exponent = self.unary()
            self.depth -= 1
            return Bin(op.col, "**", base, exponent)
        return base

    def postfix(self) -> Node:
        tok = self.tok
        if tok.kind == "name" and self.tokens[self.i + 1].text == "[":
            self.i += 2
            sign = -1 if self.at("-") and self.take() else 1
            idx = self.tok
            if idx.kind != "num" or not idx.text.isdigit():
                raise self.fail("an index must be an integer constant, like x[0]")
            if len(idx.text) > 9:  # and int() refuses 4,300 digits and more
                raise self.fail(f"index {idx.text[:12]}... ({len(idx.text):,} digits) is "
                                "far beyond the length of any vector")
            self.i += 1
            self.take("]")
            if self.at("["):
                raise self.fail("only one index is allowed: vectors are one-dimensional")
            return Index(tok.col, tok.text, sign * int(idx.text))
        if tok.kind == "name" and self.tokens[self.i + 1].text == "(":
            self.i += 2
            if tok.text == "Piecewise":
                return Call(tok.col, "Piecewise", self.pairs())
            if tok.text == "Derivative":
                return self.derivative(tok)
            args: list[Node] = []
            if not self.at(")"):
                args.append(self.expr())
                while self.at(","):
                    self.take()
                    args.append(self.expr())
            self.take(")")
            return Call(tok.col, SPELLINGS.get(tok.text, tok.text), tuple(args))
        return self.atom()

    def pairs(self) -> tuple[Node, ...]:
        """Piecewise's arguments: (expression, condition) pairs, flattened."""
        flat: list[Node] = []
        while True:
            if not self.at("("):
                raise self.fail("Piecewise takes (expression, condition) pairs, as in "
                                "Piecewise((x, x > 0), (0, True))")
            self.take("(")
            flat.append(self.expr())
            self.take(",")
            flat.append(self.expr())
            self.take(")")
            if not self.at(","):
                break
            self.take()
        self.take(")")
        return tuple(flat)

    def derivative(self, head: _Tok) -> Node:
        """sympy's Derivative(e, x), Derivative(e, x, y), Derivative(e, (x, 2)): diff."""
        node = self.expr()
        if not self.at(","):
            raise self.fail("Derivative(e, x) needs the variable to differentiate in")
        while self.at(","):
            self.take()
            count = 1
            if self.at("("):
                self.take()
                var = self.atom()
                self.take(",")
                n = self.tok
                if n.kind != "num" or not n.text.isdigit() or len(n.text) > 3:
                    raise self.fail("the count in Derivative(e, (x, n)) must be an integer "
                                    "constant")
                self.i += 1
                count = int(n.text)
                self.take(")")
            else:
                var = self.atom()
            if not isinstance(var, Name):
                raise self.fail("Derivative(e, x): x must be a variable name", head)
            node = Call(head.col, "diff", (node, var, Num(var.col, float(count))))
        self.take(")")
        return node

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
        if tok.text == "[":
            raise self.fail("a list [a, b, ...] can only be the whole expression of "
                            "autodx jacobian (vectors are variables, given by --at)")
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
        Bin(col=2, op='*', left=Num(col=1, value=3.0), right=Bin(col=3, op='**', left=Name(col=2, id='x'), right=Num(col=4, value=2.0)))
    """
    return _Parser(text, source).whole()


# ---------------------------------------------------------------- --def helpers

_DEF_HEAD = re.compile(r"\s*([A-Za-z][A-Za-z0-9_]*)\s*\(([^()]*)\)\s*=(?!=)")
_PARAM = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


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


def parse_expression(text: str, defs=()) -> tuple[Node, dict[str, Helper], Info]:
    """Parse and check ``text`` with its ``--def`` helpers: (tree, helpers, info)."""
    helpers: dict[str, Helper] = {}
    for d in defs:
        helper = parse_def(d)
        if helper.name in helpers:
            raise ExpressionError(f"{helper.name!r} is defined twice", None, f"--def {d!r}")
        helpers[helper.name] = helper
    tree = parse(text)
    return tree, helpers, analyze(tree, helpers)
