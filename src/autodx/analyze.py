"""The meaning checks of a parsed tree: every name and call is known and well formed.

:func:`analyze` rejects an unknown function, a wrong number of arguments, a function
used as a value, a constant indexed, a malformed ``diff`` and a helper that calls
itself, and collects what the expression needs from its caller: its free variables,
and which of them must be vectors.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from .errors import ExpressionError
from .registry import COMPLEX, COMPLEX_WHY, FUNCTIONS, SPELLINGS
from .tree import CONSTANTS, Bin, Call, Helper, Index, Name, Neg, Node, Num


@dataclass
class Info:
    """What an expression uses: its free variables (name -> first column) and which of
    them must be vectors (name -> why)."""

    variables: dict[str, int] = field(default_factory=dict)
    vectors: dict[str, str] = field(default_factory=dict)
    cost: "Cost | None" = field(default=None, repr=False)  # see measure()


# What a tree may cost before anything is traced (see docs/checking.md, "Limits"): the
# nodes of the program JAX will trace, helpers expanded and diff(e, v, n) counted as it
# is computed (3^n times by nested jvps where that is small, else twice: Taylor mode's
# checks and series; nested forward mode where Taylor mode has no rule is bounded as it
# is traced: autodx.compile.check_nested), and its depth (Python frames).
MAX_SIZE = 20_000
# diff(e, v, n) by n nested jvps where that traces at most this many operations (e's size
# times 3^n) and e holds no diff itself: a derivative that is exactly constant
# (diff(x**2, x, 2)) then carries no dependence on x, so a function of it, singular
# there, stays finite under further derivatives. Past it, Taylor mode: n! c_n, a program
# the size of e at any n (autodx.compile).
NESTED_JVP = 200
# A Taylor recurrence inside a diff counts as this many nodes: a lax.fori_loop that every
# outer derivative (jvp-partial's nested jvps, hessian, tensors) differentiates whole
# (jvp-partial of diff(exp(x*y)/(1+x), x, 3), 19 nodes and 2 loops: 5 indices 15 s, 6
# indices 28 s on the loaded 2-core machine)
LOOP_WEIGHT = 50
MAX_EXPANDED_DEPTH = 1_000
# The lax.fori_loops of each function's Taylor-mode rule where they are not one (each
# compiles on its own: 60 nested tanh, counted as 60 loops but tracing 180, took 16 s).
# tests/test_limits.py traces every rule and holds this table to what it finds.
LOOPS = {name: 0 for name in (
    "sum", "dot", "abs", "sign", "floor", "ceiling", "round", "trunc", "frac", "square",
    "stop_gradient", "min", "max", "Heaviside", "DiracDelta", "Mod", "Float", "Piecewise",
    "And", "Or", "Not", "Eq", "Ne", "Lt", "Le", "Gt", "Ge")}
LOOPS.update({"coth": 2, "csc": 2, "sec": 2, "sech": 2, "erfinv": 2, "factorial": 2,
              "gamma": 2, "logaddexp": 2, "logit": 2, "csch": 3, "tanh": 3, "sigmoid": 3,
              "sinc": 3, "root": 3, "LambertW": 3, "beta": 4, "binomial": 4, "zeta": 13})


# What each function's Taylor-mode rule costs to trace and compile, in units of about
# 25 ms (measured on 2026-12-06 with 12 nested calls at order 5 on the loaded 2-core
# machine: sqrt 27 ms, sin 46, asinh 68, tanh 141, zeta 912). Loops alone do not
# say it: asinh has one loop and cost 2.5 times sqrt's; 60 nested asinh took 14 s.
# Functions not named weigh 1; a binary operation: see _bin_work.
WEIGHTS = {name: weight for weight, names in {
    0: ("sum", "dot", "abs", "sign", "ceiling", "round", "trunc", "stop_gradient", "min",
        "max", "Heaviside", "DiracDelta", "Float", "Piecewise", "And", "Or", "Not", "Eq",
        "Ne", "Lt", "Le", "Gt", "Ge"),
    2: ("Rational", "atan", "cbrt", "cos", "cosh", "cot", "exp", "exp2", "hypot", "log",
        "log10", "log1p", "log2", "rsqrt", "sin", "sqrt", "norm", "prod"),
    3: ("acosh", "acot", "acoth", "acsc", "acsch", "asec", "asech", "asin", "asinh",
        "atanh", "besseli", "besselj", "erf", "expm1", "logit", "sec", "sinh", "tan"),
    4: ("acos", "atan2", "coth", "csc", "sech"),
    5: ("digamma", "logaddexp", "polygamma", "sinc"),
    6: ("erfc", "erfinv", "sigmoid", "tanh"),
    7: ("csch", "root"),
    10: ("LambertW", "gamma"), 11: ("factorial",), 13: ("loggamma",), 18: ("binomial",),
    19: ("beta",), 37: ("zeta",)}.items() for name in names}


_CONSTANTS = frozenset({"pi", "E"})


@dataclass(frozen=True)
class Cost:
    """What tracing a tree will cost, measured on the tree without building anything.

    ``size``: nodes with every helper call expanded and ``diff(e, v, n)`` counted as
    it is computed (see NESTED_JVP); ``depth``: the deepest path, helpers expanded;
    ``loops``: the Taylor-mode recurrences (a ``lax.fori_loop`` each, :data:`LOOPS`);
    ``work``: what the functions cost to trace and compile (:data:`WEIGHTS`), and
    :attr:`weight` with the products of series too; ``diff``: the deepest nesting of
    diff orders.
    """

    size: int = 1
    depth: int = 1
    loops: int = 0
    diff: int = 0
    work: int = 0
    products: int = 0  # of two series (operands that hold a variable): a gather and an einsum
    moves: bool = False  # holds a variable

    @property
    def weight(self) -> int:
        """What the Taylor-mode program costs to trace and compile: the functions'
        :data:`WEIGHTS`, and a third of a unit for each product of two series (measured:
        7 to 13 ms each; 6,000 of them, in a sum of helpers that multiply 100 factors,
        took 78 s, weighing 0 before)."""
        return self.work + (self.products + 2) // 3


def measure(tree: Node, helpers: dict[str, Helper]) -> Cost:
    """The :class:`Cost` of ``tree``; each helper's body is measured once (memoised), so
    a chain of helpers that each call the next twice is measured in linear time.

    Example:
        >>> from autodx.parse import parse
        >>> measure(parse("sin(x) + diff(x**3, x, 2)"), {})
        Cost(size=31, depth=4, loops=1, diff=2, work=2, products=2, moves=True)
    """
    memo: dict[str, Cost] = {}

    def walk(node: Node) -> Cost:
        if isinstance(node, Num):
            return Cost()
        if isinstance(node, (Name, Index)):
            return Cost(moves=not isinstance(node, Name) or node.id not in _CONSTANTS)
        if isinstance(node, Neg):
            return _above(walk(node.operand))
        if isinstance(node, Bin):
            left, right = walk(node.left), walk(node.right)
            return _above(left, right, loops=_bin_loops(node), work=_bin_work(node),
                          products=_bin_products(node, left, right))
        assert isinstance(node, Call), node
        if node.func == "diff":
            n = int(node.args[2].value) if len(node.args) > 2 else 1
            inner = walk(node.args[0])
            # as compile.diff computes it: n nested jvps where that is cheap (e's size x 3^n
            # <= NESTED_JVP, no diff inside), else Taylor mode, e traced twice (its checks,
            # its series) whatever n; where Taylor mode has no rule, compile.check_nested
            # bounds nested forward mode as it traces
            size = inner.size * (2 if n else 1) + LOOP_WEIGHT * inner.loops \
                if by_taylor(inner, n) else inner.size * 3 ** n
            return replace(inner, size=min(1 + size, 10 ** 18), depth=inner.depth + 1,
                           diff=inner.diff + n)
        args = [walk(a) for a in node.args]
        if node.func not in helpers:
            dot = node.func == "dot" and all(a.moves for a in args)
            return _above(*args, loops=LOOPS.get(node.func, 1), work=WEIGHTS.get(node.func, 1),
                          products=int(dot))
        if node.func not in memo:
            memo[node.func] = walk(helpers[node.func].body)
        body = memo[node.func]
        top = _above(*args)
        return Cost(min(top.size + body.size, 10 ** 18), top.depth + body.depth,
                    top.loops + body.loops, max(top.diff, body.diff), top.work + body.work,
                    top.products + body.products, top.moves or body.moves)

    return walk(tree)


def _bin_loops(node: Bin) -> int:
    """Taylor-mode loops of a binary operation: a division by a series (1); a power by a
    whole number up to 1024 none (products), by another number one, of a
    number (exp) one, of a series by a series (exp of log) two."""
    left, right = node.left, node.right
    if node.op == "/":
        return int(not isinstance(right, Num))
    if node.op != "**":
        return 0
    if isinstance(right, Num):
        return 0 if right.value == int(right.value) and 0 <= right.value <= 1024 else 1
    return 1 if isinstance(left, Num) else 2


def _bin_work(node: Bin) -> int:
    """:data:`WEIGHTS` of a binary operation, measured as the functions' were: a division
    by a series or a power by a constant 1 (20 and 15 ms), by a negative whole number
    2 (38 ms), of a number 2 (40 ms), of a series by a series 4 (81 ms)."""
    loops = _bin_loops(node)
    if node.op == "**" and isinstance(node.right, Num) and node.right.value < 0:
        return 2
    return {0: 0, 1: 2 if node.op == "**" and isinstance(node.left, Num) else 1, 2: 4}[loops]


def by_taylor(inner: Cost, n: int) -> bool:
    """Whether ``diff(e, v, n)`` of an e that costs ``inner`` is computed by Taylor mode
    (in a scalar v), not by n nested jvps: where those would pass NESTED_JVP operations,
    or e holds a diff itself (jvps of jvps)."""
    return n > 0 and (bool(inner.diff) or inner.size * 3 ** min(n, 10) > NESTED_JVP)


def _above(*parts: Cost, loops: int = 0, work: int = 0, products: int = 0) -> Cost:
    """A node over ``parts``."""
    return Cost(min(1 + sum(p.size for p in parts), 10 ** 18),
                1 + max((p.depth for p in parts), default=0),
                loops + sum(p.loops for p in parts), max((p.diff for p in parts), default=0),
                work + sum(p.work for p in parts), products + sum(p.products for p in parts),
                any(p.moves for p in parts))


def _bin_products(node: Bin, left: Cost, right: Cost) -> int:
    """Products of two series a binary operation makes: ``a*b`` one; ``a**n`` for a whole
    n up to 1024, by squaring, bit_length + popcount - 2."""
    if node.op == "*":
        return int(left.moves and right.moves)
    if node.op == "**" and left.moves and isinstance(node.right, Num):
        n = node.right.value
        if n == int(n) and 2 <= n <= 1024:
            return int(n).bit_length() + bin(int(n)).count("1") - 2
    return 0


def _check_cost(cost: Cost, source: str) -> None:
    if cost.size > MAX_SIZE:
        raise ExpressionError(f"it expands to {cost.size:,} nodes (helpers written out, "
                              f"diff(e, v, n) counted as computed), over the limit of "
                              f"{MAX_SIZE:,}: call helpers fewer times, or lower the diff "
                              "orders", None, source)
    if cost.depth > MAX_EXPANDED_DEPTH:
        raise ExpressionError(f"it nests {cost.depth:,} levels deep with its helpers "
                              f"written out, over the limit of {MAX_EXPANDED_DEPTH:,}",
                              None, source)


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
    info.cost = measure(tree, helpers)
    _check_cost(info.cost, source)
    return info


class _Walker:
    def __init__(self, info: Info, helpers: dict[str, Helper]):
        self.info = info
        self.helpers = helpers
        self.done: set[str] = set()  # helpers whose bodies were walked (once is enough)

    def variable(self, name: str, col: int, scope: frozenset, source: str) -> None:
        if name in scope:
            return
        if name in CONSTANTS:
            return
        if name in COMPLEX:
            raise ExpressionError(f"{name!r}: {COMPLEX_WHY}", col, source)
        if name in SPELLINGS or name in self.helpers:
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
            # a body is walked in its own scope (its parameters), whoever calls it: once
            # per helper, so helpers that each call the next twice cost linear time
            if helper.name not in self.done:
                self.walk(helper.body, frozenset(helper.params), f"--def {helper.name}",
                          stack + (helper.name,))
                self.done.add(helper.name)
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

    if name in COMPLEX:
        return f"{name}(): {COMPLEX_WHY}"
    # only near spellings: a cutoff of 0.75 keeps cot from suggesting dot
    close = difflib.get_close_matches(name, sorted(SPELLINGS) + sorted(helpers), n=3,
                                      cutoff=0.75)
    names = [c + "()" for c in close]
    hint = "" if not names else "; did you mean " + (
        names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]) + "?"
    return (f"unknown function {name!r}{hint}; `autodx functions` lists them all, "
            "or define one with --def")
