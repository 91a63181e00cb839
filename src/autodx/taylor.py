"""Taylor mode on the expression tree: all derivatives along one variable at once.

Each sub-expression that depends on the variable ``t`` is carried as its normalised
Taylor coefficients ``c[k] = f^(k)(t0) / k!`` (axis 0, length order + 1); the rest stay
plain values. A function of the language applies its Taylor rule from
:mod:`autodx.registry`, written in the series arithmetic of :mod:`autodx.series`, whose
recurrences run in ``lax.fori_loop``: the traced program has the same size at order 5
and at order 100 and compiles in about the same time, where ``jax.experimental.jet``
unrolls every recurrence (minutes at order 50).

``diff(e, t, n)`` along the Taylor variable is e's series shifted by n. A construct
without a rule here (a diff in another variable, a function without a Taylor rule)
raises :class:`NoRule`, and the engine falls back to ``jet``, then to nested forward
mode, which are slower but exact.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ._jax import jax
import jax.numpy as jnp

from . import parse as P
from . import series as S
from .compile import binary_op
from .registry import Function, Missing
from .series import NoRule
from .tree import Interpreter, Scope

__all__ = ["NoRule", "T", "taylor_coefficients"]


@dataclass(frozen=True)
class T:
    """A Taylor series: coefficients on axis 0, the value's shape after it."""

    c: jax.Array

    @property
    def order(self) -> int:
        return self.c.shape[0] - 1


def taylor_coefficients(tree: P.Node, helpers: dict[str, P.Helper], env: dict, var: str,
                        order: int) -> jax.Array:
    """Normalised Taylor coefficients of ``tree`` in ``var`` at ``env[var]``, orders 0..order.

    Example:
        >>> c = taylor_coefficients(P.parse("exp(2*x)"), {}, {"x": 0.0}, "x", 3)
        >>> [round(float(v), 6) for v in c]
        [1.0, 2.0, 2.0, 1.333333]
    """
    x0 = jnp.asarray(env[var])
    out = _Eval(helpers).run(tree, {**env, var: _Var.at(x0, order)})
    if isinstance(out, T):
        return out.c
    out = jnp.asarray(out)
    return S.first(out.astype(x0.dtype), order + 1)


class _Var(T):
    """The Taylor variable itself, t0 + t: the one series that ``diff`` may shift."""

    @staticmethod
    def at(x0: jax.Array, order: int) -> "_Var":
        return _Var(jnp.concatenate([x0[None], jnp.ones((min(order, 1),), x0.dtype),
                                     jnp.zeros((max(order - 1, 0),), x0.dtype)]))


class _Held:
    """A series that a ``diff`` in the Taylor variable must hold fixed: Taylor mode
    cannot (it moves every series at once), so reaching one means no rule here."""


def _series(v, like: jax.Array) -> jax.Array:
    return v.c if isinstance(v, T) else S.lift(v, like)


# ---------------------------------------------------------------- tree walk

class _Eval(Interpreter):
    """Values are series (:class:`T`) where they depend on the variable, plain values
    elsewhere."""

    def index(self, node: P.Index, v):
        return T(v.c[:, node.index]) if isinstance(v, T) else v[node.index]

    def negate(self, v):
        return T(-v.c) if isinstance(v, T) else -v

    def binary(self, node: P.Bin, a, b):
        if not isinstance(a, T) and not isinstance(b, T):
            return binary_op(node)(a, b)
        like = a.c if isinstance(a, T) else b.c
        if node.op in "+-":
            x, y = S.match(_series(a, like), _series(b, like))
            return T(x + y if node.op == "+" else x - y)
        if node.op == "*":
            if not isinstance(b, T):
                return T(S.scale(a.c, b))
            if not isinstance(a, T):
                return T(S.scale(b.c, a))
            return T(S.mul(a.c, b.c))
        if node.op == "/":
            if not isinstance(b, T):
                return T(S.scale(a.c, 1.0 / jnp.asarray(b)))
            return T(S.div(_series(a, like), b.c))
        if not isinstance(b, T) and isinstance(node.right, P.Num):
            return T(S.pow(a.c, node.right.value))
        if not isinstance(a, T):  # a constant base: exp(b log a), and 0 ** b = 0 for b > 0
            zero = jnp.asarray(a) == 0
            out = S.exp(S.scale(b.c, jnp.log(jnp.where(zero, 1.0, a))))
            return T(jnp.where(zero, jnp.where(b.c[0] > 0, 0.0, jnp.nan), out))
        # a ** b in general: exp(b log a)
        log_a = S.log(a.c)
        exponent = S.mul(b.c, log_a) if isinstance(b, T) else S.scale(log_a, b)
        return T(S.exp(exponent))

    def function(self, node: P.Call, fn: Function, args: list):
        if not any(isinstance(a, T) for a in args):
            return fn.jax(*args)
        if isinstance(fn.taylor, Missing):
            raise NoRule(f"{fn.name}: {fn.taylor.why}")
        like = next(a.c for a in args if isinstance(a, T))
        return T(fn.taylor(*(_series(a, like) for a in args)))

    def variable(self, name: str, scope: Scope):
        value = scope[name]
        if isinstance(value, _Held):
            raise NoRule(f"diff() holds {name} fixed while the Taylor variable moves it")
        return value

    def diff(self, node: P.Call, scope: Scope):
        """diff(e, t, n) along the Taylor variable t is e's series shifted by n: the
        coefficients of e at order k + n, c'[j] = c[j + n] (j + n)! / j!, exact, and as
        cheap as order k + n. A diff in another variable (another direction), or one
        that must hold fixed something that moves with t, has no rule here: the engine
        falls back to jet, then to nested forward mode."""
        var = node.args[1].id
        n = int(node.args[2].value) if len(node.args) > 2 else 1
        here = self.variable(var, scope)
        if not isinstance(here, _Var):
            raise NoRule(f"diff() in {var}, which is not the Taylor variable")
        k = here.order
        held = Scope(*({name: _Held() if isinstance(v, T) else v for name, v in part.items()}
                       for part in (scope.variables, scope.params)))
        inner = self.eval(node.args[0], held.bind(var, _Var.at(here.c[0], k + n)))
        if not isinstance(inner, T):
            return inner if n == 0 else jnp.zeros_like(jnp.asarray(inner, here.c.dtype))
        ratio = [float(math.factorial(j + n) // math.factorial(j)) for j in range(k + 1)]
        ratio = jnp.asarray(ratio, inner.c.dtype).reshape((k + 1,) + (1,) * (inner.c.ndim - 1))
        return T(inner.c[n:n + k + 1] * ratio)
