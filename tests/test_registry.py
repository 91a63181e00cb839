"""The function registry (autodx.registry): every entry complete, every other table a view
of it, and every part of an entry checked against an independent oracle.

The oracle for a Taylor rule is mpmath's numerical derivatives (``mpmath.taylor``) of
the entry's mpmath value at 40 digits: it shares nothing with the series arithmetic.
"""
from __future__ import annotations

import dataclasses
import math
import subprocess
import sys

import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import sympy as sp

from autodx import parse as P
from autodx.check import references, sympy_view
from autodx.compile import compile_tree
from autodx.registry import (COMPLEX, FUNCTIONS, SPELLINGS, Lazy, Missing, NoTaylorRule,
                             Structural, resolve)
from autodx.taylor import taylor_coefficients
from oracle import X

# A point inside the domain of every one-argument function with a Taylor rule: adding a
# function fails test_every_rule_has_a_point until it has one here.
POINTS = {
    "sin": 0.7, "cos": 0.7, "tan": 0.7, "asin": 0.3, "acos": 0.3, "atan": 0.7,
    "sinh": 0.7, "cosh": 0.7, "tanh": 0.7, "asinh": 0.7, "acosh": 1.7, "atanh": 0.3,
    "exp": 0.7, "log": 0.7, "sqrt": 0.7, "cbrt": -0.7, "abs": -0.7, "sign": -0.7,
    "floor": 1.3, "ceiling": 1.3, "round": 1.3, "erf": 0.7, "sigmoid": 0.7,
    "min": 0.7, "max": 0.7,
    "cot": 0.7, "sec": 0.7, "csc": 0.7, "acot": -0.7, "asec": -1.7, "acsc": 1.7,
    "coth": -0.7, "sech": 0.7, "csch": 0.7, "acoth": 1.7, "asech": 0.7, "acsch": -0.7,
    "sinc": 0.7, "expm1": 0.7, "log1p": 0.7, "exp2": 0.7, "log10": 0.7, "log2": 0.7,
    "square": -0.7, "rsqrt": 0.7, "logit": 0.3, "frac": 1.3, "trunc": -1.3,
    "Heaviside": 0.7, "DiracDelta": 0.7, "And": 0.7, "Or": 0.7, "Not": 0.7, "Float": 0.7,
    "erfc": 0.7, "erfinv": 0.3, "gamma": 0.7, "loggamma": 2.5, "digamma": 2.5,
    "factorial": 2.3, "LambertW": 0.7, "zeta": 2.5,
}
# A call of each function with more than one argument, in x (the rest: name(x)).
CALLS = {
    "polygamma": "polygamma(2, x)", "besselj": "besselj(2, x)", "besseli": "besseli(1, x)",
    "root": "root(x, 3)", "binomial": "binomial(x + 3, 2)", "beta": "beta(x, 2)",
    "Rational": "Rational(x, 3)", "Mod": "Mod(x, 0.3)", "hypot": "hypot(x, 2)",
    "logaddexp": "logaddexp(x, 2)", "Piecewise": "Piecewise((x, x > 1), (2*x, True))",
    "And": "And(x > 0.5, x < 1)", "Or": "Or(x > 1, x < 0.8)", "Not": "Not(x > 1)",
    **{op: f"{op}(x, 1)" for op in ("Lt", "Le", "Gt", "Ge", "Eq", "Ne")},
    "Heaviside": "Heaviside(x - x)", "zeta": "zeta(x + 2)",
}
# Functions whose derivatives are not those of their value, by definition.
NOT_THEIR_VALUES_DERIVATIVES = {"stop_gradient": "derivative zero, value x"}
ORDER = 8
PARTS = ("jax", "taylor", "sympy", "mpmath", "printed")


def _call(name: str) -> str:
    """A call with the fewest arguments: x (or x*v for a vector function), then 2 (v)."""
    if name in CALLS:
        return CALLS[name]
    f = FUNCTIONS[name]
    first, rest = ("x*v", "v") if f.vector else ("x", "2")
    return f"{name}({', '.join([first] + [rest] * (f.arity[0] - 1))})"


# ---------------------------------------------------------------- complete entries

@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_entry_has_every_part_or_a_reason(name):
    f = FUNCTIONS[name]
    for part in PARTS:
        value = getattr(f, part)
        if isinstance(value, Missing):
            assert len(value.why) > 20, (part, value)  # a reason, not a placeholder
        elif part == "printed":
            assert isinstance(value, str) and value.isidentifier(), value
        else:
            assert callable(value), (part, value)
    low, high = f.arity
    assert low >= 1 and (high is None or high >= low)
    assert f.domain.strip() and f.doc.strip()


def test_only_diff_and_the_vector_functions_lack_parts():
    # a new entry lacking a part must be added here on purpose, with its reason
    lacking = {(name, part): type(getattr(f, part))
               for name, f in FUNCTIONS.items() for part in PARTS
               if isinstance(getattr(f, part), Missing)}
    written_out = {(v, p): Structural for v in ("dot", "sum", "prod", "norm")
                   for p in ("mpmath", "printed")}
    assert lacking == {("diff", "jax"): Structural, ("diff", "taylor"): NoTaylorRule,
                       ("diff", "sympy"): Structural, ("diff", "mpmath"): Structural,
                       ("diff", "printed"): Structural, **written_out}


def test_declaring_the_registry_imports_nothing_heavy():
    # autodx --help and --symbolic without a point stay fast and JAX-free
    code = ("import sys, autodx.parse, autodx.analyze, autodx.registry, autodx.tree\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'jax', 'jaxlib', 'numpy', 'sympy', 'mpmath'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


# ---------------------------------------------------------------- the other tables

def test_the_parser_tables_are_views_of_the_registry():
    assert P.FUNCTIONS == {name: f.arity for name, f in FUNCTIONS.items()}
    assert P.VECTOR_FUNCTIONS == {name for name, f in FUNCTIONS.items() if f.vector}
    assert P.RESERVED == set(SPELLINGS) | set(P.CONSTANTS) | COMPLEX | {"Derivative"}
    assert set(SPELLINGS.values()) == set(FUNCTIONS)


def test_the_check_tables_are_views_of_the_registry():
    classes = sympy_view.sympy_classes()
    without_class = set(FUNCTIONS) - {f.name for f in classes.values()}
    written_out = {"sqrt", "dot", "sum", "prod", "norm", "diff", "expm1", "log1p", "exp2",
                   "log10", "log2", "square", "rsqrt", "hypot", "logaddexp", "logit",
                   "Float", "Rational", "Heaviside", "DiracDelta", "root",
                   "Piecewise", "And", "Or", "Not"}  # conditions, made booleans first
    assert without_class == written_out
    for cls, f in classes.items():
        assert references._MP[cls] is resolve(f.mpmath), f.name
    # and the functions only sympy's differentiation brings in
    assert set(references._MP) - set(classes) == {sp.Heaviside, sp.DiracDelta, sp.re, sp.im,
                                                  sp.conjugate, sp.And, sp.Or, sp.Not}


def test_every_walker_reads_the_registry(monkeypatch):
    fake = dataclasses.replace(FUNCTIONS["sin"], jax=lambda x: x * 0 + 42.0,
                               taylor=lambda a: a * 0 + 7.0, sympy=lambda x: sp.Integer(5))
    monkeypatch.setitem(FUNCTIONS, "sin", fake)
    tree, helpers, _ = P.parse_expression("sin(x)")
    assert float(compile_tree(tree, helpers)({"x": 0.3})) == 42.0
    assert taylor_coefficients(tree, helpers, {"x": 0.3}, "x", 2).tolist() == [7.0] * 3
    assert sympy_view.to_sympy(tree, helpers, {"x": X}) == 5


@pytest.mark.parametrize("name", sorted(set(FUNCTIONS) - {"diff"}))
def test_the_walkers_agree_on_every_function(name):
    # the JAX value, the series' constant term, and the sympy translation in mpmath
    tree, helpers, info = P.parse_expression(_call(name))
    v = [0.5, 1.5, -0.7]
    env = {"x": POINTS.get(name, 0.7), **({"v": jnp.array(v)} if "v" in info.variables else {})}
    value = float(compile_tree(tree, helpers)(env))
    series = taylor_coefficients(tree, helpers, env, "x", 3)
    symbols = sympy_view.symbols({k: 3 if k == "v" else None for k in env})
    expr = sympy_view.to_sympy(tree, helpers, symbols)
    order = [symbols["x"], *symbols.get("v", [])]
    with mpmath.workdps(30):
        exact = float(references.mp_function(expr, order)([env["x"], *v][:len(order)]))
    assert float(series[0]) == pytest.approx(value, rel=1e-14)
    assert value == pytest.approx(exact, rel=1e-13, abs=1e-15)


# ---------------------------------------------------------------- the oracles

def test_every_rule_has_a_point():
    one_argument = {name for name, f in FUNCTIONS.items()
                    if f.arity[0] == 1 and not f.vector and callable(f.taylor)}
    assert set(POINTS) | set(NOT_THEIR_VALUES_DERIVATIVES) == one_argument


@pytest.mark.parametrize("name", sorted(POINTS))
def test_taylor_rule_agrees_with_mpmath_derivatives(name):
    f, x0 = FUNCTIONS[name], POINTS[name]
    tree, helpers, _ = P.parse_expression(f"{name}(x)")
    got = np.asarray(taylor_coefficients(tree, helpers, {"x": x0}, "x", ORDER))
    with mpmath.workdps(40):
        want = [float(c) for c in mpmath.taylor(f.mpmath, mpmath.mpf(x0), ORDER)]
    for k, (g, w) in enumerate(zip(got, want)):
        assert math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-12), (k, g, w)


def test_stop_gradient_has_its_value_and_no_derivatives():
    tree, helpers, _ = P.parse_expression("stop_gradient(x**2)")
    got = taylor_coefficients(tree, helpers, {"x": 0.7}, "x", ORDER).tolist()
    assert got == [pytest.approx(0.49, rel=1e-15)] + [0.0] * ORDER


@pytest.mark.parametrize("name", sorted(POINTS))
def test_sympy_translation_and_its_derivatives_agree_with_mpmath(name):
    # checks the derivative sympy knows for the class (fdiff for autodx's own classes)
    f, x0 = FUNCTIONS[name], POINTS[name]
    tree, helpers, _ = P.parse_expression(f"{name}(x)")
    expr = sympy_view.to_sympy(tree, helpers, {"x": X})
    with mpmath.workdps(40):
        for k in range(3):
            got = references.mp_function(sp.diff(expr, X, k), [X])([mpmath.mpf(x0)])
            want = mpmath.diff(f.mpmath, mpmath.mpf(x0), k)
            assert abs(got - want) <= 1e-25 * max(1, abs(want)), (k, got, want)


@pytest.mark.parametrize("name", sorted(n for n, f in FUNCTIONS.items()
                                        if isinstance(f.printed, str)))
def test_symbolic_text_uses_the_printed_name_and_parses_back(name):
    f = FUNCTIONS[name]
    args = ["x", "y"][:max(f.arity[0], 2 if f.arity[1] is None else 1)]
    text = CALLS.get(name, f"{name}({', '.join(args)})").replace("2, x", "2, y")
    tree, helpers, info = P.parse_expression(text)
    env = {a: sp.Symbol(a, real=True) for a in info.variables}
    expr = sympy_view.to_sympy(tree, helpers, env)
    text = sympy_view.text(expr)
    if isinstance(f.sympy, Lazy) and isinstance(f.sympy.target, type) and \
            expr.func is f.sympy.target:
        assert f"{f.printed}(" in text, text
    P.parse_expression(text)  # the printed text is autodx's own language


def test_lazy_parts_name_what_they_import():
    assert isinstance(FUNCTIONS["sin"].jax, Lazy) and repr(FUNCTIONS["sin"].jax) == \
        "jax.numpy.sin"
    assert resolve(FUNCTIONS["sin"].sympy) is sp.sin
