"""Validated tree -> JAX-traceable function of an environment ``{name: array}``.

Table-driven: every function of the expression language maps to a JAX operation in
:data:`OPS`, whose names are checked against the parser's table at import.
Functions that ``jax.experimental.jet`` has no rule for are written with ones it has
(``tan = sin/cos``, ``asin`` through ``atan2``), so every path can differentiate them.
"""
from __future__ import annotations

import functools
import operator
from typing import Callable

from ._jax import jax
import jax.numpy as jnp
from jax import lax

from . import parse as P
from .errors import ExpressionError

Env = dict  # name -> jax array (0-d for scalars, 1-d for vectors)
Fun = Callable[[Env], jax.Array]


def _vec(name: str, x):
    if jnp.ndim(x) != 1:
        raise ExpressionError(f"{name}() needs a vector argument, got a scalar")
    return x


def _cbrt(x):
    return jnp.sign(x) * jnp.abs(x) ** (1.0 / 3.0)


def _reduce(pairwise, whole):
    def op(*args):
        if len(args) == 1:
            return whole(args[0])
        return functools.reduce(pairwise, args)
    return op


def _erf(x):
    from jax.scipy.special import erf  # imported on first use: 5 ms off every start

    return erf(x)


def _log(x, base=None):
    return jnp.log(x) if base is None else jnp.log(x) / jnp.log(base)


OPS: dict[str, Callable] = {
    "sin": jnp.sin, "cos": jnp.cos, "tan": lambda x: jnp.sin(x) / jnp.cos(x),
    "asin": lambda x: jnp.arctan2(x, jnp.sqrt((1 - x) * (1 + x))),
    "acos": lambda x: jnp.arctan2(jnp.sqrt((1 - x) * (1 + x)), x),
    "atan": lambda x: jnp.arctan2(x, jnp.ones_like(x)),
    "atan2": jnp.arctan2,
    "sinh": jnp.sinh, "cosh": jnp.cosh, "tanh": jnp.tanh,
    "asinh": jnp.arcsinh, "acosh": jnp.arccosh, "atanh": jnp.arctanh,
    "exp": jnp.exp, "log": _log, "sqrt": jnp.sqrt, "cbrt": _cbrt,
    "abs": jnp.abs, "sign": jnp.sign, "floor": jnp.floor, "ceiling": jnp.ceil,
    "round": jnp.round, "erf": _erf, "sigmoid": jax.nn.sigmoid,
    "min": _reduce(jnp.minimum, jnp.min), "max": _reduce(jnp.maximum, jnp.max),
    "dot": lambda a, b: jnp.dot(_vec("dot", a), _vec("dot", b)),
    "sum": lambda v: jnp.sum(_vec("sum", v)),
    "prod": lambda v: jnp.prod(_vec("prod", v)),
    "norm": lambda v: jnp.sqrt(jnp.sum(_vec("norm", v) ** 2)),
    "stop_gradient": lax.stop_gradient,
    "diff": None,  # compiled specially: it transforms a sub-function
}
assert set(OPS) == set(P.FUNCTIONS), set(OPS) ^ set(P.FUNCTIONS)

_BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


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
    return _Compiler(helpers).build(tree)


class _Compiler:
    def __init__(self, helpers: dict[str, P.Helper]):
        self.helpers = helpers
        self.bodies: dict[str, Fun] = {}

    def build(self, node: P.Node) -> Fun:
        method = getattr(self, "_" + type(node).__name__.lower())
        return method(node)

    def _num(self, node: P.Num) -> Fun:
        value = node.value
        return lambda env: value

    def _name(self, node: P.Name) -> Fun:
        if node.id in P.CONSTANTS:
            value = P.CONSTANTS[node.id]
            return lambda env: value
        name = node.id
        return lambda env: env[name]

    def _index(self, node: P.Index) -> Fun:
        name, i, col = node.id, node.index, node.col

        def index(env):
            v = env[name]
            if jnp.ndim(v) != 1:
                raise ExpressionError(f"{name} is a scalar and cannot be indexed", col)
            if not -v.shape[0] <= i < v.shape[0]:
                raise ExpressionError(f"index {i} is out of range for {name}, which has "
                                      f"length {v.shape[0]}", col)
            return v[i]
        return index

    def _neg(self, node: P.Neg) -> Fun:
        f = self.build(node.operand)
        return lambda env: -f(env)

    def _bin(self, node: P.Bin) -> Fun:
        left, right, op = self.build(node.left), self.build(node.right), binary_op(node)
        return lambda env: op(left(env), right(env))

    def _call(self, node: P.Call) -> Fun:
        args = [self.build(a) for a in node.args]
        if node.func in self.helpers:
            return self._helper(node, args)
        if node.func == "diff":
            return self._diff(node, args[0])
        op, col, name = OPS[node.func], node.col, node.func

        def call(env):
            try:
                return op(*(a(env) for a in args))
            except ExpressionError as e:
                raise ExpressionError(e.message, col) from None
            except TypeError as e:  # e.g. dot of mismatched lengths
                raise ExpressionError(f"{name}(): {e}", col) from None
        return call

    def _helper(self, node: P.Call, args: list[Fun]) -> Fun:
        helper = self.helpers[node.func]
        if helper.name not in self.bodies:
            self.bodies[helper.name] = self.build(helper.body)
        body, params = self.bodies[helper.name], helper.params

        def call(env):
            local = dict(env)
            local.update(zip(params, (a(env) for a in args)))
            return body(local)
        return call

    def _diff(self, node: P.Call, expr: Fun) -> Fun:
        var = node.args[1].id
        n = int(node.args[2].value) if len(node.args) > 2 else 1
        col = node.col

        def diff(env):
            x = jnp.asarray(env[var])

            def g(t):
                return expr({**env, var: t})
            if jnp.ndim(x) == 0:
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


def binary_op(node: P.Bin) -> Callable:
    """The JAX operation of a binary node; ``x**n`` for an integer constant n is
    ``integer_pow``: exact, defined for negative x, and jet has a rule for it."""
    if node.op != "**":
        return _BINARY[node.op]
    exponent = node.right
    if isinstance(exponent, P.Num) and exponent.value == int(exponent.value) \
            and abs(exponent.value) <= 1024:
        n = int(exponent.value)
        return lambda a, _: lax.integer_pow(jnp.asarray(a), n)
    return jnp.power


def _forward(g: Callable) -> Callable:
    def dg(t):
        return jax.jvp(g, (t,), (jnp.ones_like(t),))[1]
    return dg

