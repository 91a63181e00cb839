"""Validated tree -> JAX-traceable function of an environment ``{name: array}``.

Table-driven: every function of the expression language takes its JAX operation from
its entry in :mod:`autodx.registry`, and the walk of the tree is the shared
:class:`autodx.tree.Interpreter`, whose values here are functions of the environment.
"""
from __future__ import annotations

from typing import Callable

from ._jax import jax
import jax.numpy as jnp
from jax import lax

from . import parse as P, taylor
from .analyze import MAX_SIZE, by_taylor, measure
from .errors import ExpressionError
from .ops import binary_op
from .registry import Function
from .tree import Interpreter, Scope

Env = dict  # name -> jax array (0-d for scalars, 1-d for vectors)
Fun = Callable[[Env], jax.Array]
# An environment holding this key asks for the shape of the result only: diff() then
# gives zeros of its derivative's shape instead of tracing n nested forward modes
# (whose trace grows as 3^n). See :func:`shape_of`.
SHAPE_ONLY = "__shape_only__"


def shape_of(fun: Fun, env: Env) -> tuple:
    """The shape of ``fun(env)``, at the cost of the expression without its derivatives."""
    return jnp.shape(fun({**env, SHAPE_ONLY: True}))

def compile_tree(tree: P.Node, helpers: dict[str, P.Helper]) -> Fun:
    """Turn an analysed tree into ``fun(env) -> array``, traceable by every JAX transform.

    Args:
        tree: the root from :func:`autodx.parse.parse`, checked by ``analyze``.
        helpers: the ``--def`` helpers by name.

    Returns:
        A function of an environment dict ``{variable name: array}``.

    Example:
        >>> f = compile_tree(P.parse("x**2 + y"), {})
        >>> float(f({"x": 3.0, "y": 1.0}))
        10.0
    """
    return _Compiler(helpers).run(tree, {})


class _Compiler(Interpreter):
    """Values are functions of the environment. The scope holds the functions of the
    names bound while compiling (helper parameters, a variable that ``diff`` varies),
    each read from a slot of the environment of its own (no variable name starts with
    '_'); any other name is read from the environment when the function runs."""

    def __init__(self, helpers: dict[str, P.Helper]):
        super().__init__(helpers)
        self.slots = 0

    def slot(self, what: str) -> str:
        self.slots += 1
        return f"_{what}{self.slots}"

    def number(self, value: float) -> Fun:
        return lambda env: value

    def variable(self, name: str, scope: Scope) -> Fun:
        return scope[name] if name in scope else _reader(name)

    def index(self, node: P.Index, vector: Fun) -> Fun:
        name, i, col = node.id, node.index, node.col

        def index(env):
            v = vector(env)
            if jnp.ndim(v) != 1:
                raise ExpressionError(f"{name} is a scalar and cannot be indexed", col)
            if not -v.shape[0] <= i < v.shape[0]:
                raise ExpressionError(f"index {i} is out of range for {name}, which has "
                                      f"length {v.shape[0]}", col)
            return v[i]
        return index

    def negate(self, f: Fun) -> Fun:
        return lambda env: -f(env)

    def binary(self, node: P.Bin, left: Fun, right: Fun) -> Fun:
        op = binary_op(node)
        return lambda env: op(left(env), right(env))

    def function(self, node: P.Call, fn: Function, args: list[Fun]) -> Fun:
        op, col, name = fn.jax, node.col, node.func

        def call(env):
            try:
                return op(*(a(env) for a in args))
            except ExpressionError as e:
                raise ExpressionError(e.message, col) from None
            except TypeError as e:  # e.g. dot of mismatched lengths
                raise ExpressionError(f"{name}(): {e}", col) from None
        return call

    def helper(self, helper: P.Helper, args: list[Fun], scope: Scope) -> Fun:
        """Each argument computed once per call, into the slot its parameter reads."""
        slots = [self.slot(p) for p in helper.params]
        body = self.eval(helper.body, scope.enter(helper, [_reader(s) for s in slots]))

        def call(env):
            return body({**env, **{slot: a(env) for slot, a in zip(slots, args)}})
        return call

    def diff(self, node: P.Call, scope: Scope) -> Fun:
        """diff(e, v, n): e compiled with v read from a slot, which the derivative varies."""
        var = node.args[1].id
        n = int(node.args[2].value) if len(node.args) > 2 else 1
        col, slot = node.col, self.slot(var)
        here = self.variable(var, scope)
        expr = self.eval(node.args[0], scope.bind(var, _reader(slot)))
        inner = measure(node.args[0], self.helpers)

        def diff(env):
            x = jnp.asarray(here(env))

            def g(t):
                return expr({**env, slot: t})
            if SHAPE_ONLY in env and (jnp.ndim(x) == 0 or n == 1):
                out = g(x)
                if jnp.ndim(x) == 0:
                    return jnp.zeros_like(out)
                if jnp.ndim(out) != 0:
                    raise ExpressionError(f"diff(e, {var}) with vector {var} needs a scalar e",
                                          col)
                return jnp.zeros_like(x)
            if jnp.ndim(x) == 0:
                if by_taylor(inner, n):
                    expr({**env, slot: x, SHAPE_ONLY: True})  # its errors (XLA drops it)
                    try:  # Taylor mode: n! c_n, a program the size of e at any n
                        return taylor.nth_derivative(node.args[0], self.helpers,
                                                     _values(scope, env), var, x, n)
                    except taylor.NoRule as e:
                        check_nested(node, n, inner.size, str(e))
                for _ in range(n):  # forward mode: n is small and g may be vector-valued
                    g = _forward(g)
                return g(x)
            if n != 1:
                raise ExpressionError(f"diff(e, {var}, {n}): {var} is a vector; only the "
                                      "gradient (n = 1) is available", col)
            out = g(x)
            if jnp.ndim(out) != 0:
                raise ExpressionError(f"diff(e, {var}) with vector {var} needs a scalar e",
                                      col)
            return jax.grad(g)(x)
        return diff


def check_nested(node: P.Call, n: int, size: int, why: str) -> None:
    """Nested forward mode, where Taylor mode has no rule, traces a program about 3^n
    times e's ``size`` (each level adds the derivative of every operation of the one
    below): refuse one past the size limit, before tracing it."""
    if size * 3 ** n > MAX_SIZE:
        raise ExpressionError(f"diff(e, {node.args[1].id}, {n}) needs nested forward mode "
                              f"here ({why}): about {size:,} x 3^{n} = {size * 3 ** n:,} "
                              f"operations, over the limit of {MAX_SIZE:,}: lower the order",
                              node.col)


def _values(scope: Scope, env: Env) -> Scope:
    """``scope`` (names bound to functions of the environment) with the values they have
    in ``env``, and the expression's variables from ``env``: what Taylor mode reads."""
    return Scope({**env, **{k: f(env) for k, f in scope.variables.items()}},
                 {k: f(env) for k, f in scope.params.items()})


def _reader(name: str) -> Fun:
    return lambda env: env[name]


def _forward(g: Callable) -> Callable:
    def dg(t):
        return jax.jvp(g, (t,), (jnp.ones_like(t),))[1]
    return dg

