"""The meaning checks of a parsed tree: every name and call is known and well formed.

:func:`analyze` rejects an unknown function, a wrong number of arguments, a function
used as a value, a constant indexed, a malformed ``diff`` and a helper that calls
itself, and collects what the expression needs from its caller: its free variables,
and which of them must be vectors.
"""
from __future__ import annotations

from dataclasses import dataclass, field

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
_NO_LOOP = frozenset({"sum", "dot", "abs", "sign", "floor", "ceiling", "round",
                      "stop_gradient", "min", "max"})


@dataclass(frozen=True)
class Cost:
    """What tracing a tree will cost, measured on the tree without building anything.

    ``size``: nodes with every helper call expanded and ``diff(e, v, n)`` counted as
    it is computed (see NESTED_JVP); ``depth``: the deepest path, helpers expanded; ``loops``: the Taylor-mode
    recurrences (a ``lax.fori_loop`` each, which XLA compiles one by one); ``diff``:
    the deepest nesting of diff orders.
    """

    size: int = 1
    depth: int = 1
    loops: int = 0
    diff: int = 0


def measure(tree: Node, helpers: dict[str, Helper]) -> Cost:
    """The :class:`Cost` of ``tree``; each helper's body is measured once (memoised), so
    a chain of helpers that each call the next twice is measured in linear time.

    Example:
        >>> from autodx.parse import parse
        >>> measure(parse("sin(x) + diff(x**3, x, 2)"), {})
        Cost(size=31, depth=4, loops=2, diff=2)
    """
    memo: dict[str, Cost] = {}

    def walk(node: Node) -> Cost:
        if isinstance(node, (Num, Name, Index)):
            return Cost()
        if isinstance(node, Neg):
            return _above(walk(node.operand))
        if isinstance(node, Bin):
            loop = node.op == "/" and not isinstance(node.right, Num) or node.op == "**" \
                and not (isinstance(node.right, Num) and node.right.value in (0, 1, 2))
            return _above(walk(node.left), walk(node.right), loops=int(loop))
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
            return Cost(min(1 + size, 10 ** 18), inner.depth + 1, inner.loops, inner.diff + n)
        args = [walk(a) for a in node.args]
        if node.func not in helpers:
            return _above(*args, loops=int(node.func not in _NO_LOOP))
        if node.func not in memo:
            memo[node.func] = walk(helpers[node.func].body)
        body = memo[node.func]
        top = _above(*args)
        return Cost(min(top.size + body.size, 10 ** 18), top.depth + body.depth,
                    top.loops + body.loops, max(top.diff, body.diff))

    return walk(tree)


def by_taylor(inner: Cost, n: int) -> bool:
    """Whether ``diff(e, v, n)`` of an e that costs ``inner`` is computed by Taylor mode
    (in a scalar v), not by n nested jvps: where those would pass NESTED_JVP operations,
    or e holds a diff itself (jvps of jvps)."""
    return n > 0 and (bool(inner.diff) or inner.size * 3 ** min(n, 10) > NESTED_JVP)


def _above(*parts: Cost, loops: int = 0) -> Cost:
    """A node over ``parts``."""
    return Cost(min(1 + sum(p.size for p in parts), 10 ** 18),
                1 + max((p.depth for p in parts), default=0),
                loops + sum(p.loops for p in parts), max((p.diff for p in parts), default=0))


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
