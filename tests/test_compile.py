"""Every function of the language, through the API, against sympy and closed forms.

Each function is differentiated up to order 6 along one variable (the tree's Taylor
mode) and to order 2 over two variables (nested jacfwd over grad), both checked
against sympy's symbolic derivative evaluated to 30 digits.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

import autodx
from oracle import SYMPY, X, Y, close, derivative

# (autodx text in x, the same in sympy, a point inside the domain)
UNARY = [
    ("sin(x)", sp.sin(X), 0.7), ("cos(x)", sp.cos(X), 0.7), ("tan(x)", sp.tan(X), 0.7),
    ("asin(x)", sp.asin(X), 0.3), ("acos(x)", sp.acos(X), 0.3), ("atan(x)", sp.atan(X), 0.7),
    ("sinh(x)", sp.sinh(X), 0.7), ("cosh(x)", sp.cosh(X), 0.7), ("tanh(x)", sp.tanh(X), 0.7),
    ("asinh(x)", sp.asinh(X), 0.7), ("acosh(x)", sp.acosh(X), 1.7),
    ("atanh(x)", sp.atanh(X), 0.3), ("exp(x)", sp.exp(X), 0.7), ("log(x)", sp.log(X), 0.7),
    ("log(x, 3)", sp.log(X, 3), 0.7), ("sqrt(x)", sp.sqrt(X), 0.7),
    ("cbrt(x)", X ** sp.Rational(1, 3), 0.7), ("cbrt(x)", -(-X) ** sp.Rational(1, 3), -0.7),
    ("abs(x)", -X, -0.7), ("erf(x)", sp.erf(X), 0.7),
    ("sigmoid(x)", 1 / (1 + sp.exp(-X)), 0.7), ("atan2(x, 2)", sp.atan2(X, 2), 0.7),
    ("atan2(1, x)", sp.atan2(1, X), 0.7), ("x**2.5", X ** 2.5, 0.7),
    ("2**x", 2 ** X, 0.7), ("x**x", X ** X, 0.7), ("1/(1 + x**2)", 1 / (1 + X ** 2), 0.7),
    ("x**-3", X ** -3, 0.7), ("pi*x^2 + E", sp.pi * X ** 2 + sp.E, 0.7),
    ("max(x, 0.5)", X, 0.7), ("min(x**2, 3)", X ** 2, 0.7), ("3x^4", 3 * X ** 4, -0.7),
    # the rest of sympy's elementary functions, numpy's spellings, special functions
    ("cot(x)", sp.cot(X), 0.7), ("sec(x)", sp.sec(X), 0.7), ("csc(x)", sp.csc(X), 0.7),
    ("acot(x)", sp.acot(X), -0.7), ("asec(x)", sp.asec(X), -1.7), ("acsc(x)", sp.acsc(X), 1.7),
    ("coth(x)", sp.coth(X), -0.7), ("sech(x)", sp.sech(X), 0.7), ("csch(x)", sp.csch(X), 0.7),
    ("acoth(x)", sp.acoth(X), 1.7), ("asech(x)", sp.asech(X), 0.7),
    ("acsch(x)", sp.acsch(X), -0.7), ("sinc(x)", sp.sinc(X), 0.7), ("sinc(x)", sp.sinc(X), 2.3),
    ("expm1(x)", sp.exp(X) - 1, 0.7), ("log1p(x)", sp.log(1 + X), 0.7),
    ("exp2(x)", 2 ** X, 0.7), ("log10(x)", sp.log(X, 10), 0.7), ("log2(x)", sp.log(X, 2), 0.7),
    ("root(x, 3)", sp.root(X, 3), 0.7), ("square(x)", X ** 2, 0.7), ("rsqrt(x)", X ** -0.5, 0.7),
    ("hypot(x, 2)", sp.sqrt(X ** 2 + 4), 0.7),
    ("logaddexp(x, 1)", sp.log(sp.exp(X) + sp.E), 0.7), ("logit(x)", sp.log(X / (1 - X)), 0.3),
    ("ln(x) + Abs(x) + arcsin(x)", sp.log(X) + X + sp.asin(X), 0.3),
    ("Mod(x, 0.5) * x", (X - 1) * X, 1.3), ("x % 0.5", X - 1, 1.3),
    ("frac(x)", X - 1, 1.3), ("Rational(1, 3)*x**2", X ** 2 / 3, 0.7),
    ("Piecewise((x**2, x > 1), (sin(x), True))", sp.sin(X), 0.7),
    ("Piecewise((x**2, (x > 1) & (x < 2)), (sin(x), True))", X ** 2, 1.3),
    ("Heaviside(x) * x**3", X ** 3, 0.7), ("erfc(x)", sp.erfc(X), 0.7),
    ("erfinv(x)", sp.erfinv(X), 0.3), ("gamma(x)", sp.gamma(X), 0.7),
    ("gamma(x)", sp.gamma(X), -0.5), ("loggamma(x)", sp.loggamma(X), 2.5),
    ("digamma(x)", sp.digamma(X), 2.5), ("polygamma(1, x)", sp.polygamma(1, X), 1.5),
    ("beta(x, 2.5)", sp.beta(X, sp.Rational(5, 2)), 0.7), ("factorial(x)", sp.factorial(X), 2.3),
    ("binomial(x, 2)", sp.binomial(X, 2), 4.5), ("LambertW(x)", sp.LambertW(X), 0.7),
    ("LambertW(x)", sp.LambertW(X), -0.2), ("besselj(2, x)", sp.besselj(2, X), 3.0),
    ("besselj(0, x)", sp.besselj(0, X), 0.0), ("besseli(1, x)", sp.besseli(1, X), 3.0),
]


@pytest.mark.parametrize("text, expr, x0", UNARY, ids=[u[0] + f"@{u[2]}" for u in UNARY])
def test_one_variable_orders_1_to_6_against_sympy(text, expr, x0):
    r = autodx.grad(text, order=6, at=x0)
    assert close(r.value, derivative(expr, [], {X: x0}), rel=1e-12)
    for k in range(1, 7):
        want = derivative(expr, [X] * k, {X: x0})
        assert close(r.derivatives[k], want, rel=1e-10, scale=abs(want) + 1), (k, want)


@pytest.mark.parametrize("text, expr, x0", UNARY[:24], ids=[u[0] for u in UNARY[:24]])
def test_two_variables_hessian_against_sympy(text, expr, x0):
    # the same function times a second variable: f(x) * (y^2 + y)
    r = autodx.grad(f"({text}) * (y**2 + y)", order=2, at={"x": x0, "y": 0.4})
    full = expr * (Y ** 2 + Y)
    point = {X: x0, Y: 0.4}
    grad = [derivative(full, [s], point) for s in (X, Y)]
    hess = [[derivative(full, [a, b], point) for b in (X, Y)] for a in (X, Y)]
    assert np.allclose(r.derivatives[1], grad, rtol=1e-11, atol=1e-12)
    assert np.allclose(r.derivatives[2], hess, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("text, expected", [
    ("sum(v**2)", [2.0, 4.0, 6.0]),
    ("prod(v)", [6.0, 3.0, 2.0]),
    ("norm(v)", (np.array([1.0, 2.0, 3.0]) / math.sqrt(14)).tolist()),
    ("dot(v, v)", [2.0, 4.0, 6.0]),
    ("max(v)", [0.0, 0.0, 1.0]),
    ("min(v)", [1.0, 0.0, 0.0]),
    ("sum(exp(v))", np.exp([1.0, 2.0, 3.0]).tolist()),
    ("v[0] * v[-1]", [3.0, 0.0, 1.0]),
])
def test_vector_functions_closed_forms(text, expected):
    r = autodx.grad(text, at={"v": [1.0, 2.0, 3.0]})
    assert np.allclose(r.derivatives[1], expected, rtol=1e-14)


@pytest.mark.parametrize("text, expected", [
    ("diff(x**3, x)", [6.0, 6.0, 0.0]),              # 3x^2 -> 6x, 6, 0 at x=1
    ("diff(x**3, x, 2)", [6.0, 0.0, 0.0]),           # 6x
    ("diff(sin(x*y), y)", None),                     # x cos(xy), checked with sympy
])
def test_diff_inside_is_differentiated_through(text, expected):
    r = autodx.grad(text, order=3, at={"x": 1.0, "y": 0.5}, wrt=["x"]) if "y" in text \
        else autodx.grad(text, order=3, at=1.0)
    if expected is None:
        expr = sp.diff(sp.sin(X * Y), Y)
        expected = [derivative(expr, [X] * k, {X: 1.0, Y: 0.5}) for k in (1, 2, 3)]
    assert [r.derivatives[k] for k in (1, 2, 3)] == pytest.approx(expected, rel=1e-12)


def test_helpers_compose():
    r = autodx.grad("g(f(x), x)", defs=["f(u) = u**2", "g(a, b) = a*b + sin(b)"], at=0.5,
                    order=2)
    expr = X ** 3 + sp.sin(X)
    assert r.derivatives[2] == pytest.approx(derivative(expr, [X, X], {X: 0.5}), rel=1e-13)


def test_oracle_table_is_complete():
    # every unary function in the language has a sympy counterpart in the oracle
    from autodx.parse import FUNCTIONS, VECTOR_FUNCTIONS

    skip = VECTOR_FUNCTIONS | {"sign", "floor", "ceiling", "round", "min", "max",
                               "stop_gradient", "diff", "trunc", "Heaviside", "DiracDelta",
                               "Piecewise", "And", "Or", "Not", "Lt", "Le", "Gt", "Ge",
                               "Eq", "Ne"}  # steps and conditions: tests/test_language.py
    assert set(FUNCTIONS) - skip <= set(SYMPY)
