"""The shared tree walk (autodx.tree): helpers see the expression's variables and their
own parameters, never their caller's, in every evaluator alike.

Oracles: the values written out by hand.
"""
from __future__ import annotations

import pytest
import sympy as sp

from autodx import parse as P
from autodx.check import sympy_view
from autodx.compile import compile_tree
from autodx.taylor import taylor_coefficients

ENV = {"x": 2.0, "y": 3.0, "a": 100.0}

# (expression, helpers, value at ENV, the same written out in x, y, a)
CASES = [
    # g's a is the variable a, not f's parameter a
    ("f(x)", ["g(b) = a*b", "f(a) = g(2) + a"], 202.0, "2*a + x"),
    # q's x is the variable x, though p's parameter is called x
    ("p(y)", ["q(z) = z*x", "p(x) = x + q(1)"], 5.0, "y + x"),
    # diff varies the variable y inside a helper too
    ("diff(h(y), y)", ["h(u) = u*y"], 6.0, "2*y"),
    # diff in a helper's parameter, through a helper that uses the variable x
    ("k(y)", ["m(w) = w + x", "k(u) = diff(u*x*m(u), u)"], 16.0, "x*(2*y + x)"),
]


@pytest.mark.parametrize("text, defs, value, written", CASES, ids=[c[0] for c in CASES])
def test_a_helper_sees_the_variables_and_its_own_parameters(text, defs, value, written):
    tree, helpers, info = P.parse_expression(text, defs)
    env = {name: ENV[name] for name in info.variables}
    assert float(compile_tree(tree, helpers)(env)) == pytest.approx(value, rel=1e-15)
    symbols = sympy_view.symbols({name: None for name in env})
    expr = sympy_view.to_sympy(tree, helpers, symbols)
    want = sp.sympify(written, locals={n: symbols[n] for n in symbols})
    assert sp.simplify(expr - want) == 0
    if "diff" not in text + "".join(defs):  # diff has no Taylor rule
        c = taylor_coefficients(tree, helpers, env, "x", 2)
        assert float(c[0]) == pytest.approx(value, rel=1e-15)
        assert float(c[1]) == pytest.approx(float(sp.diff(want, symbols["x"]).subs(
            {symbols[n]: v for n, v in env.items()})), rel=1e-14)
