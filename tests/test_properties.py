"""Random expressions: autodx's derivatives up to order 4 agree with sympy's.

Expressions are generated as trees and printed twice, as autodx text and as a sympy
expression, so the oracle never goes through autodx's parser. Functions with a
restricted domain are wrapped so that every point in [-1, 1] is inside it.
"""
from __future__ import annotations

import itertools
import os

import numpy as np
import sympy as sp
from hypothesis import HealthCheck, given, settings, strategies as st

import autodx
from oracle import X, Y, close, derivative

# name -> (autodx template, sympy builder)
UNARY = {
    "sin": ("sin({})", sp.sin), "cos": ("cos({})", sp.cos), "tanh": ("tanh({})", sp.tanh),
    "atan": ("atan({})", sp.atan), "erf": ("erf({})", sp.erf),
    "sigmoid": ("sigmoid({})", lambda a: 1 / (1 + sp.exp(-a))),
    "exp": ("exp(({})/4)", lambda a: sp.exp(a / 4)),
    "log": ("log(1 + ({})^2)", lambda a: sp.log(1 + a ** 2)),
    "sqrt": ("sqrt(2 + sin({}))", lambda a: sp.sqrt(2 + sp.sin(a))),
    "asinh": ("asinh({})", sp.asinh), "cosh": ("cosh(({})/2)", lambda a: sp.cosh(a / 2)),
    "square": ("({})**2", lambda a: a ** 2), "neg": ("-({})", lambda a: -a),
    "recip": ("1/(2 + cos({}))", lambda a: 1 / (2 + sp.cos(a))),
    "pow": ("(2 + sin({}))**1.5", lambda a: (2 + sp.sin(a)) ** sp.Rational(3, 2)),
    # the rest of the contract's smooth functions, each kept inside its domain
    "tan": ("tan(atan({}))", lambda a: sp.tan(sp.atan(a))),
    "asin": ("asin(tanh({})/2)", lambda a: sp.asin(sp.tanh(a) / 2)),
    "acos": ("acos(tanh({})/2)", lambda a: sp.acos(sp.tanh(a) / 2)),
    "atanh": ("atanh(tanh({})/2)", lambda a: sp.atanh(sp.tanh(a) / 2)),
    "sinh": ("sinh(({})/2)", lambda a: sp.sinh(a / 2)),
    "acosh": ("acosh(2 + ({})^2)", lambda a: sp.acosh(2 + a ** 2)),
    "cbrt": ("cbrt(sin({}) - 1.5)", lambda a: -sp.root(sp.Rational(3, 2) - sp.sin(a), 3)),
    "abs": ("abs(sin({}) - 2)", lambda a: 2 - sp.sin(a)),
    "logb": ("log(2 + ({})^2, 3)", lambda a: sp.log(2 + a ** 2) / sp.log(3)),
    # diff() inside the expression: differentiated again from outside (meta-gradients)
    "diff": ("diff({}, x)", lambda a: sp.diff(a, X)),
}
BINARY = {
    "+": ("({}) + ({})", lambda a, b: a + b), "-": ("({}) - ({})", lambda a, b: a - b),
    "*": ("({}) * ({})", lambda a, b: a * b),
    "/": ("({}) / (2 + tanh({}))", lambda a, b: a / (2 + sp.tanh(b))),
    "atan2": ("atan2({}, 3 + cos({}))", lambda a, b: sp.atan2(a, 3 + sp.cos(b))),
}


def _grow(leaves):
    def extend(children):
        return st.one_of(
            st.tuples(st.sampled_from(sorted(UNARY)), children),
            st.tuples(st.sampled_from(sorted(BINARY)), children, children))
    return st.recursive(st.one_of(leaves, st.integers(-3, 3).map(lambda c: ("num", c))),
                        extend, max_leaves=6)


def trees(names):
    return _grow(st.sampled_from(names).map(lambda n: ("var", n)))


def render(tree):
    """(autodx text, sympy expression) of a generated tree."""
    if tree[0] == "var":
        return tree[1], {"x": X, "y": Y}[tree[1]]
    if tree[0] == "index":
        return f"z[{tree[1]}]", Z[tree[1]]
    if tree[0] == "vec":
        return VECTOR_LEAVES[tree[1]]
    if tree[0] == "num":
        return f"({tree[1]})", sp.Integer(tree[1])
    if tree[0] in UNARY:
        template, build = UNARY[tree[0]]
        text, expr = render(tree[1])
        return template.format(text), build(expr)
    template, build = BINARY[tree[0]]
    (ta, ea), (tb, eb) = render(tree[1]), render(tree[2])
    return template.format(ta, tb), build(ea, eb)


# AUTODX_EXAMPLES=500 for a longer search than the suite's default
SETTINGS = settings(max_examples=int(os.environ.get("AUTODX_EXAMPLES", "20")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
points = st.floats(-1, 1, allow_nan=False).map(lambda v: round(v, 3))


@SETTINGS
@given(trees(["x"]), points)
def test_one_variable_up_to_order_4(tree, x0):
    text, expr = render(tree)
    if not expr.free_symbols:
        text, expr = f"x + {text}", X + expr
    r = autodx.grad(text, order=4, at={"x": x0})
    assert close(r.value, derivative(expr, [], {X: x0}), rel=1e-11)
    for k in range(1, 5):
        want = derivative(expr, [X] * k, {X: x0})
        assert close(r.derivatives[k], want, rel=1e-8, scale=abs(want) + 1), (text, k)


@SETTINGS
@given(trees(["x", "y"]), points, points, st.integers(1, 4))
def test_two_variables_tensors_up_to_order_4(tree, x0, y0, order):
    text, expr = render(tree)
    text, expr = f"{text} + x*y", expr + X * Y  # both variables always present
    r = autodx.grad(text, order=order, at={"x": x0, "y": y0})
    assert r.coordinates == ["x", "y"]
    point = {X: x0, Y: y0}
    for k in range(1, order + 1):
        tensor = np.asarray(r.derivatives[k])
        assert tensor.shape == (2,) * k
        for combo in itertools.product((0, 1), repeat=k):
            want = derivative(expr, [(X, Y)[i] for i in combo], point)
            assert close(tensor[combo], want, rel=1e-8, scale=abs(want) + 1), (text, combo)


# ---------------------------------------------------------------- vectors: hessian, hvp, jvp-partial

Z = sp.symbols("z0 z1 z2", real=True)
COORDS = [X, *Z]  # autodx's order: x, z[0], z[1], z[2]
VECTOR_LEAVES = {
    "sum": ("sum(sin(z))", sum(sp.sin(z) for z in Z)),
    "dot": ("dot(z, z)", sum(z ** 2 for z in Z)),
    "prod": ("prod(cos(z))", sp.Mul(*(sp.cos(z) for z in Z))),
    "norm": ("norm(z + 2)", sp.sqrt(sum((z + 2) ** 2 for z in Z))),
    "max": ("max(z[0], z[1] + 5)", Z[1] + 5),  # smooth where one argument always wins
}


def vector_trees():
    """Trees over x and a 3-vector z: its entries, and sums, products, norms of it."""
    return _grow(st.one_of(st.just(("var", "x")),
                           st.integers(0, 2).map(lambda i: ("index", i)),
                           st.sampled_from(sorted(VECTOR_LEAVES)).map(lambda k: ("vec", k))))


def _vector_case(tree):
    text, expr = render(tree)
    # every coordinate present, so the Hessian is always 4 x 4
    return f"{text} + x*z[0]*z[1]*z[2]", expr + X * Z[0] * Z[1] * Z[2]


vector_points = st.lists(points, min_size=4, max_size=4)


@SETTINGS
@given(vector_trees(), vector_points)
def test_hessian_with_a_vector_variable(tree, p):
    text, expr = _vector_case(tree)
    at = {"x": p[0], "z": p[1:]}
    point = dict(zip(COORDS, p))
    h = autodx.hessian(text, at=at)
    assert h.shape == (4, 4)
    for i, j in itertools.product(range(4), repeat=2):
        want = derivative(expr, [COORDS[i], COORDS[j]], point)
        assert close(h[i, j], want, rel=1e-9, scale=abs(want) + 1), (text, i, j)


@SETTINGS
@given(vector_trees(), vector_points, st.lists(points, min_size=4, max_size=4))
def test_hessian_vector_product_with_a_vector_variable(tree, p, v):
    text, expr = _vector_case(tree)
    point = dict(zip(COORDS, p))
    hv = autodx.hessian(text, at={"x": p[0], "z": p[1:]}, vector=v)
    for i in range(4):
        want = sum(v[j] * derivative(expr, [COORDS[i], COORDS[j]], point) for j in range(4))
        assert close(hv[i], want, rel=1e-9, scale=sum(map(abs, v)) + abs(want) + 1), (text, i)


@SETTINGS
@given(vector_trees(), vector_points, st.lists(st.integers(0, 3), min_size=1, max_size=4))
def test_jvp_partial_with_a_vector_variable(tree, p, indices):
    text, expr = _vector_case(tree)
    point = dict(zip(COORDS, p))
    got = autodx.jvp_partial(text, indices, at={"x": p[0], "z": p[1:]})
    want = derivative(expr, [COORDS[i] for i in indices], point)
    assert close(float(got[0]), want, rel=1e-8, scale=abs(want) + 1), (text, indices)
