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

A function of an argument that is exactly constant is constant: ``asin(diff(x, x))``
is pi/2, with derivatives 0, where asin's rule would multiply asin'(1) = inf by the
argument's zero derivatives (nan). A truncated series cannot say it is constant (the
series of x**4 at 0 to order 3 is all zeros, and sqrt(x**4) is not constant), so a
series carries what is known exactly: a bound on its degree where it is a polynomial
in t known in full (the variable has degree 1; sums, products and ``diff`` keep
track), a series of degree 0 is a plain value, and where a function's arguments are
all exactly constant (their coefficients after the first are zero, and nothing was
cut off), its series is its value followed by zeros (:func:`_guarded`). The same
holds for division and powers, and the piecewise constant functions (``floor``,
``stop_gradient``, the relations) give plain values.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ._jax import jax
import jax.numpy as jnp

from . import parse as P
from . import series as S
from .analyze import MAX_SIZE, measure
from .errors import ExpressionError
from .ops import binary_op
from .registry import Function, Missing
from .series import NoRule
from .tree import Interpreter, Scope

__all__ = ["NoRule", "T", "coefficients_along", "nth_derivative", "taylor_coefficients"]


@dataclass(frozen=True)
class T:
    """A Taylor series: coefficients on axis 0, the value's shape after it.

    What is known of it exactly, beyond its coefficients: ``degree``, a bound on its
    degree where it is a polynomial in t with every term present (None: unknown, or
    terms past the order cut off); ``flat``, a traced bool, true where it is exactly
    constant (a function of constant arguments, :func:`_guarded`); ``moves``, that it
    is known not to be constant (t itself, t + 1, 2 t, sin(t)), so that a function of
    it needs no guard."""

    c: jax.Array
    degree: int | None = None
    flat: Any = None
    moves: bool = False

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


def coefficients_along(tree: P.Node, helpers: dict[str, P.Helper], env: dict,
                       entries: list[tuple[str, int | None]], direction: jax.Array,
                       order: int) -> jax.Array:
    """Normalised Taylor coefficients of ``t -> tree`` at ``env`` moved by ``t * direction``,
    orders 0..order: coordinate ``i`` is the variable and entry ``entries[i]`` (None for
    a scalar variable), moved by ``direction[i]``. One univariate Taylor propagation:
    the basis of derivative tensors by interpolation (:mod:`autodx.tensors`). Raises
    :class:`NoRule` where Taylor mode has none.

    Example:
        >>> c = coefficients_along(P.parse("x*y"), {}, {"x": 1.0, "y": 2.0},
        ...                        [("x", None), ("y", None)], jnp.array([1.0, 3.0]), 2)
        >>> [float(v) for v in c]  # (1 + t)(2 + 3 t) = 2 + 5 t + 3 t^2
        [2.0, 5.0, 3.0]
    """
    variables = dict(env)
    for name in {n for n, _ in entries}:
        x0 = jnp.asarray(env[name])
        c = jnp.zeros((order + 1,) + x0.shape, x0.dtype).at[0].set(x0)
        for i, (n, entry) in enumerate(entries):
            if n == name:
                c = c.at[(1,) if entry is None else (1, entry)].set(direction[i])
        variables[name] = T(c, 1)
    out = _Eval(helpers).run(tree, variables)
    if isinstance(out, T):
        return out.c
    return S.first(jnp.asarray(out, jnp.asarray(direction).dtype), order + 1)


def nth_derivative(tree: P.Node, helpers: dict[str, P.Helper], scope: Scope, var: str,
                   x0: jax.Array, n: int) -> jax.Array:
    """d^n tree / d var^n at ``var = x0``, every other name holding its value in ``scope``
    (held fixed): n! times the n-th coefficient. How :mod:`autodx.compile` computes
    ``diff(e, v, n)`` in a scalar v. Raises :class:`NoRule` where Taylor mode has none.

    Example:
        >>> from autodx.tree import Scope
        >>> float(nth_derivative(P.parse("x**3 * y"), {}, Scope({"y": 2.0}), "x", 1.0, 2))
        12.0
    """
    x0 = jnp.asarray(x0)
    with S.reversible():  # the program around it may be differentiated in reverse mode
        out = _Eval(helpers).eval(tree, scope.bind(var, _Var.at(x0, n)))
    if not isinstance(out, T):
        return jnp.zeros_like(jnp.asarray(out, x0.dtype))
    return out.c[n] * math.factorial(n)


class _Var(T):
    """The Taylor variable itself, t0 + t: the one series that ``diff`` may shift."""

    @staticmethod
    def at(x0: jax.Array, order: int) -> "_Var":
        return _Var(jnp.concatenate([x0[None], jnp.ones((min(order, 1),), x0.dtype),
                                     jnp.zeros((max(order - 1, 0),), x0.dtype)]), 1,
                    moves=order > 0)


class _Held:
    """A series that a ``diff`` in the Taylor variable must hold fixed: Taylor mode
    cannot (it moves every series at once), so reaching one means no rule here."""


def _series(v, like: jax.Array) -> jax.Array:
    return v.c if isinstance(v, T) else S.lift(v, like)


# ---------------------------------------------------------------- exactly constant

def _made(c: jax.Array, degree: int | None = None, flat: Any = None, moves: bool = False):
    """A series; one of degree 0 is exactly constant, so a plain value."""
    if degree == 0:
        return c[0]
    return T(c, degree, None if flat is False or moves else flat, moves)


def _constant(v) -> Any:
    """Whether ``v`` is exactly constant in t: True, False, or a traced bool."""
    if not isinstance(v, T):
        return True
    if v.moves:
        return False
    if v.degree is not None and v.degree <= v.order:  # every term there: look
        return jnp.all(v.c[1:] == 0)
    return False if v.flat is None else v.flat


def _guarded(c: jax.Array, *args, moves: bool = False) -> T:
    """f(args) whose series a rule gave as ``c``: where every argument is exactly
    constant, f's value followed by zeros (the rule may have multiplied an infinite
    derivative of f by the arguments' zero ones), unless the value is nan (f is not
    defined there). Nothing is added to the program where an argument is known to
    move; one comparison of coefficients elsewhere."""
    flat = S.all_flags(_constant(a) for a in args)
    if flat is False:
        return T(c, moves=moves)
    k = jnp.arange(c.shape[0]).reshape((-1,) + (1,) * (c.ndim - 1))
    tail = jnp.logical_and(k > 0, ~jnp.isnan(c[0]))  # f undefined there: nan stays
    return T(jnp.where(jnp.logical_and(flat, tail), jnp.zeros_like(c), c), flat=flat)


def _degree(v) -> int | None:
    return v.degree if isinstance(v, T) else 0


def _moves(v) -> bool:
    return isinstance(v, T) and v.moves


def _scalar(v) -> bool:
    """A number written in the expression (not a traced value), other than 0."""
    return isinstance(v, (int, float)) and v != 0 and math.isfinite(v)


def _arithmetic(op: str, a, b) -> tuple[int | None, bool]:
    """The degree bound of a + b, a - b or a * b, and whether it is known to move:
    a moving series plus a constant, or times a number other than 0, moves; so does
    the product of two moving polynomials."""
    da, db = _degree(a), _degree(b)
    degree = None if da is None or db is None else max(da, db) if op in "+-" else da + db
    if op in "+-":
        return degree, _moves(a) and not isinstance(b, T) or _moves(b) and not isinstance(a, T)
    return degree, (_moves(a) and (_scalar(b) or _moves(b) and degree is not None) or
                    _moves(b) and _scalar(a))


# ---------------------------------------------------------------- tree walk

class _Eval(Interpreter):
    """Values are series (:class:`T`) where they depend on the variable, plain values
    elsewhere."""

    def index(self, node: P.Index, v):
        return T(v.c[:, node.index], v.degree, v.flat) if isinstance(v, T) else v[node.index]

    def negate(self, v):
        return T(-v.c, v.degree, v.flat, v.moves) if isinstance(v, T) else -v

    def binary(self, node: P.Bin, a, b):
        if not isinstance(a, T) and not isinstance(b, T):
            return binary_op(node)(a, b)
        like = a.c if isinstance(a, T) else b.c
        if node.op in "+-*":
            degree, moves = _arithmetic(node.op, a, b)
            flat = None if degree is not None or moves else S.all_flags([_constant(a), _constant(b)])
            return _made(self._polynomial(node.op, a, b, like), degree, flat, moves)
        if node.op == "/":
            if not isinstance(b, T):
                return _made(S.scale(a.c, 1.0 / jnp.asarray(b)), a.degree, a.flat,
                             a.moves and _scalar(b))
            return _guarded(S.div(_series(a, like), b.c), a, b)
        if not isinstance(b, T) and isinstance(node.right, P.Num):
            n = node.right.value
            if n == int(n) and 0 <= n <= 1024:  # a polynomial of a: no singularity
                degree = None if a.degree is None else a.degree * int(n)
                return _made(S.pow(a.c, n), degree, a.flat, a.moves and n > 0)
            return _guarded(S.pow(a.c, n), a, moves=a.moves)
        if not isinstance(a, T):  # a constant base: exp(b log a), and 0 ** b = 0 for b > 0
            zero = jnp.asarray(a) == 0
            out = S.exp(S.scale(b.c, jnp.log(jnp.where(zero, 1.0, a))))
            return _guarded(jnp.where(zero, jnp.where(b.c[0] > 0, 0.0, jnp.nan), out), b)
        # a ** b in general: exp(b log a)
        log_a = S.log(a.c)
        exponent = S.mul(b.c, log_a) if isinstance(b, T) else S.scale(log_a, b)
        return _guarded(S.exp(exponent), a, b)

    @staticmethod
    def _polynomial(op: str, a, b, like: jax.Array) -> jax.Array:
        """a + b, a - b, a * b: the series arithmetic that keeps a polynomial one."""
        if op in "+-":
            x, y = S.match(_series(a, like), _series(b, like))
            return x + y if op == "+" else x - y
        if not isinstance(b, T):
            return S.scale(a.c, b)
        if not isinstance(a, T):
            return S.scale(b.c, a)
        return S.mul(a.c, b.c)

    def function(self, node: P.Call, fn: Function, args: list):
        if not any(isinstance(a, T) for a in args):
            return fn.jax(*args)
        if isinstance(fn.taylor, Missing):
            raise NoRule(f"{fn.name}: {fn.taylor.why}")
        like = next(a.c for a in args if isinstance(a, T))
        c = fn.taylor(*(_series(a, like) for a in args))
        if getattr(fn.taylor, "constant", False):  # piecewise constant: a plain value
            return c[0]
        # a function of one moving scalar moves (none of the language is constant on
        # an interval but the piecewise constant ones)
        return _guarded(c, *args, moves=len(args) == 1 and _moves(args[0]) and not fn.vector)

    def variable(self, name: str, scope: Scope):
        value = scope[name]
        if isinstance(value, _Held):
            raise NoRule(f"diff() holds {name} fixed while the Taylor variable moves it")
        return value

    def diff(self, node: P.Call, scope: Scope):
        """diff(e, t, n) along the Taylor variable t is e's series shifted by n: the
        coefficients of e at order k + n, c'[j] = c[j + n] (j + n)! / j!, exact, and as
        cheap as order k + n. A diff in another scalar variable is n nested forward
        modes of the series (:meth:`across`). One that must hold fixed something that
        moves with t has no rule here: the engine falls back to jet, then to nested
        forward mode."""
        var = node.args[1].id
        n = int(node.args[2].value) if len(node.args) > 2 else 1
        here = self.variable(var, scope)
        if not isinstance(here, _Var):
            return self.across(node, scope, var, here, n)
        k = here.order
        held = Scope(*({name: _Held() if isinstance(v, T) else v for name, v in part.items()}
                       for part in (scope.variables, scope.params)))
        inner = self.eval(node.args[0], held.bind(var, _Var.at(here.c[0], k + n)))
        if not isinstance(inner, T):
            return inner if n == 0 else jnp.zeros_like(jnp.asarray(inner, here.c.dtype))
        ratio = [float(math.factorial(j + n) // math.factorial(j)) for j in range(k + 1)]
        ratio = jnp.asarray(ratio, inner.c.dtype).reshape((k + 1,) + (1,) * (inner.c.ndim - 1))
        degree = None if inner.degree is None else max(inner.degree - n, 0)
        return _made(inner.c[n:n + k + 1] * ratio, degree, inner.flat)

    def across(self, node: P.Call, scope: Scope, var: str, here, n: int):
        """diff(e, y, n) in a variable y other than t: the series in t of d^n e / dy^n,
        as n nested forward modes in y of e's series (where y itself moves with t, in
        its constant coefficient: d/dy0 of e(t, y(t) + y0) is de/dy along the way).
        Everything but y keeps its series: only y is held, as diff says."""
        if jnp.ndim(here.c[0] if isinstance(here, T) else here) != 0:
            raise NoRule(f"diff() in the vector {var} inside Taylor mode")
        check_across(node, self.helpers, n)
        moving = isinstance(here, T)
        is_series = []  # whether e is a series in t: seen as the innermost call runs

        def series(y):
            out = self.eval(node.args[0], scope.bind(var, T(y) if moving else y))
            is_series[:] = [isinstance(out, T)]
            return out.c if isinstance(out, T) else jnp.asarray(out)

        y0 = here.c if moving else jnp.asarray(here, float)
        g = series
        for _ in range(n):
            g = _forward(g, jnp.zeros_like(y0).at[0].set(1) if moving else jnp.ones_like(y0))
        out = g(y0)
        return T(out) if is_series[0] else out


def check_across(node: P.Call, helpers: dict, n: int) -> None:
    """n nested forward modes trace about 3^n times e's program: refuse one past the
    size limit before tracing it."""
    size = measure(node.args[0], helpers).size
    if size * 3 ** n > MAX_SIZE:
        raise ExpressionError(f"diff(e, {node.args[1].id}, {n}) inside another derivative "
                              f"needs nested forward mode: about {size:,} x 3^{n} = "
                              f"{size * 3 ** n:,} operations, over the limit of "
                              f"{MAX_SIZE:,}: lower the order", node.col)


def _forward(g, tangent):
    def dg(y):
        return jax.jvp(g, (y,), (tangent,))[1]
    return dg
