"""Taylor mode on the tree (autodx.taylor): high orders, the fallback, program size.

Oracles: sympy's symbolic derivative, closed forms, and mpmath's derivatives at 60
digits. The per-function rules are checked one by one in test_registry.py.
"""
from __future__ import annotations

import math

import jax
import pytest
import sympy as sp

import autodx
from autodx import parse as P, taylor
from autodx.registry import FUNCTIONS
from oracle import X


HIGH = "sin(x)*exp(x)/(1+x**2)"


@pytest.mark.parametrize("order", [20, 50])
def test_high_orders_agree_with_sympy(order):
    expr = sp.sin(X) * sp.exp(X) / (1 + X ** 2)
    r = autodx.grad(HIGH, order=order, at=0.5)
    want = float(sp.diff(expr, X, order).subs(X, sp.Rational(1, 2)).evalf(40))
    assert r.derivatives[order] == pytest.approx(want, rel=1e-8)


def test_order_100_closed_form():
    # d^k/dx^k sin(x) = sin(x + k pi / 2)
    r = autodx.grad("sin(x)", order=100, at=0.3)
    for k in (1, 37, 99, 100):
        assert r.derivatives[k] == pytest.approx(math.sin(0.3 + k * math.pi / 2), abs=1e-12)


def test_vector_constant_in_taylor_mode():
    # along the scalar t, with the vector v held fixed: d^k/dt^k prod(t v) = 0 for k > 3
    r = autodx.grad("prod(t*v)", order=5, at="t=2,v=[1,2,3]", wrt=["t"])
    # prod(t v) = 6 t^3
    assert [r.derivatives[k] for k in range(1, 6)] == pytest.approx([72, 72, 36, 0, 0])


def _mp(name):
    import mpmath

    return {
        "sin(x)": mpmath.sin, "exp(x)": mpmath.exp, "log(x)": mpmath.log,
        "tan(x)": mpmath.tan, "atan(x)": mpmath.atan, "sqrt(x)": mpmath.sqrt,
        "erf(x)": mpmath.erf, "sigmoid(x)": lambda t: 1 / (1 + mpmath.exp(-t)),
        "tanh(x)": mpmath.tanh, "asin(x)": mpmath.asin, "x**x": lambda t: t ** t,
        "cosh(x)/(1+x)": lambda t: mpmath.cosh(t) / (1 + t),
    }[name]


HIGH_ORDER = ["sin(x)", "exp(x)", "log(x)", "tan(x)", "atan(x)", "sqrt(x)", "erf(x)",
              "sigmoid(x)", "tanh(x)", "asin(x)", "x**x", "cosh(x)/(1+x)"]


@pytest.mark.parametrize("text", HIGH_ORDER)
def test_every_rule_holds_at_order_24(text):
    # oracle: mpmath's derivative at 60 digits (sympy's symbolic diff of tanh at order
    # 24 takes minutes)
    import mpmath

    r = autodx.grad(text, order=24, at=0.4)
    with mpmath.workdps(60):
        for k in (12, 24):
            want = float(mpmath.diff(_mp(text), mpmath.mpf("0.4"), k))
            assert r.derivatives[k] == pytest.approx(want, rel=1e-8), k


def test_the_fallback_for_diff_is_exact_at_high_order():
    # diff() has no tree rule: jet (or nested jvp) takes over, and must stay exact
    r = autodx.grad("diff(x**3*sin(x), x)", order=12, at=0.7)
    expr = sp.diff(X ** 3 * sp.sin(X), X)
    for k in (1, 6, 12):
        want = float(sp.diff(expr, X, k).subs(X, sp.Rational(7, 10)).evalf(40))
        assert r.derivatives[k] == pytest.approx(want, rel=1e-10), k


def _coefficients(text: str, order: int, **env):
    tree, helpers, _ = P.parse_expression(text)
    return taylor.taylor_coefficients(tree, helpers, env, "x", order)


def test_diff_and_a_vector_function_of_a_scalar_have_no_rule():
    # the engine catches NoRule and falls back to jet, then to nested forward mode
    with pytest.raises(taylor.NoRule, match="diff"):  # a diff in another direction
        _coefficients("diff(x**2*y, y)", 3, x=0.5, y=2.0)
    # along the Taylor variable, diff shifts the series: d/dx x^3 = 3x^2
    c = _coefficients("diff(x**3, x)", 3, x=0.5)
    assert [float(v) for v in c] == pytest.approx([0.75, 3.0, 3.0, 0.0])
    with pytest.raises(taylor.NoRule, match="sum of a scalar"):
        _coefficients("sum(x)", 3, x=0.5)


def _call(name: str) -> str:
    """A call of the function with its fewest arguments, the first depending on x."""
    from test_registry import CALLS  # the calls of functions with argument shapes

    if name in CALLS:
        return CALLS[name]
    f = FUNCTIONS[name]
    first, rest = ("x*v", "v") if f.vector else ("x", "2")
    return f"{name}({', '.join([first] + [rest] * (f.arity[0] - 1))})"


@pytest.mark.parametrize("name", [n for n, f in FUNCTIONS.items() if callable(f.taylor)])
def test_the_traced_program_does_not_grow_with_the_order(name):
    # every rule is series arithmetic in fori_loop, never a Python loop over the order
    tree, helpers, _ = P.parse_expression(_call(name))
    env = {"v": jax.numpy.array([0.5, 0.25])} if FUNCTIONS[name].vector else {}

    def size(order):
        program = jax.make_jaxpr(lambda x: taylor.taylor_coefficients(
            tree, helpers, {**env, "x": x}, "x", order))(0.4)
        return len(program.eqns)
    assert size(4) == size(60)
