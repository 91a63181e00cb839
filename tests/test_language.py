"""The vocabulary (issue 10): what sympy's ``str()`` prints reads back, derivatives agree
with sympy's at 30 digits, tails keep their relative accuracy (against mpmath), and
``autodx functions`` and docs/expressions.md's table are the registry's.

The round trip draws from the whole registry: every function is in one of the chunks
below, each chunk a hypothesis test of random expressions built in sympy around its
functions, printed with ``str()``, parsed by autodx and differentiated to order 3.
AUTODX_EXAMPLES raises the examples per chunk (default 1).
"""
from __future__ import annotations

import collections
import json
import math
import os
import pathlib
import subprocess
import sys

import mpmath
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings, strategies as st

import autodx
from autodx import parse as P
from autodx.check import sympy_functions as sf
from autodx.errors import ExpressionError
from autodx.registry import FUNCTIONS
from oracle import X

ROOT = pathlib.Path(__file__).resolve().parents[1]

# name -> a sympy expression of it around u (any real in about [-1.5, 1.5]), kept inside
# its domain; sympy prints each with its own spelling, which autodx must read.
R = sp.Rational
BUILD = {
    "sin": sp.sin, "cos": sp.cos, "tan": lambda u: sp.tan(u / 2), "atan": sp.atan,
    "asin": lambda u: sp.asin(sp.tanh(u) / 2), "acos": lambda u: sp.acos(sp.tanh(u) / 2),
    "atan2": lambda u: sp.atan2(u, 2 + sp.cos(u)), "sinh": sp.sinh, "cosh": sp.cosh,
    "tanh": sp.tanh, "asinh": sp.asinh, "acosh": lambda u: sp.acosh(2 + u ** 2),
    "atanh": lambda u: sp.atanh(sp.tanh(u) / 2), "exp": sp.exp,
    "log": lambda u: sp.log(1 + u ** 2) + sp.log(2 + u ** 2, 3), "sqrt": lambda u: sp.sqrt(2 + u),
    "cbrt": lambda u: sf.cbrt(u - 3), "abs": lambda u: sp.Abs(u - 3),
    "sign": lambda u: sp.sign(u - 3) * u, "floor": lambda u: sf.floor(3 * u) + u,
    "ceiling": lambda u: sf.ceiling(3 * u) * u, "round": lambda u: sf.round(3 * u) + u,
    "erf": sp.erf, "sigmoid": lambda u: sf.sigmoid(3 * u),
    "min": lambda u: sp.Min(u, 2 + u ** 2, 3), "max": lambda u: sp.Max(u, -2 - u ** 2),
    "stop_gradient": lambda u: sf.stop_gradient(u) * u,
    "cot": lambda u: sp.cot(1 + u / 3), "sec": lambda u: sp.sec(u / 2),
    "csc": lambda u: sp.csc(2 + u / 2), "acot": lambda u: sp.acot(2 + u),
    "asec": lambda u: sp.asec(-2 - u ** 2), "acsc": lambda u: sp.acsc(2 + u ** 2),
    "coth": lambda u: sp.coth(2 + u), "sech": sp.sech, "csch": lambda u: sp.csch(2 + u),
    "acoth": lambda u: sp.acoth(2 + u ** 2), "asech": lambda u: sp.asech(1 / (2 + u ** 2)),
    "acsch": lambda u: sp.acsch(2 + u), "sinc": lambda u: sp.sinc(2 * u),
    "expm1": lambda u: sp.exp(u) - 1, "log1p": lambda u: sp.log(1 + u ** 2),
    "exp2": lambda u: 2 ** u, "log10": lambda u: sp.log(2 + u) / sp.log(10),
    "log2": lambda u: sp.log(2 + u, 2), "root": lambda u: sp.root(2 + u, 3),
    "square": lambda u: u ** 2, "rsqrt": lambda u: 1 / sp.sqrt(2 + u),
    "hypot": lambda u: sp.sqrt(u ** 2 + 4), "logaddexp": lambda u: sp.log(sp.exp(u) + sp.E),
    "logit": lambda u: sp.log((2 + sp.tanh(u)) / (2 - sp.tanh(u))),
    "frac": lambda u: sp.frac(3 * u + R(1, 7)), "trunc": lambda u: sf.trunc(3 * u) + u,
    "Mod": lambda u: sp.Mod(3 * u + R(1, 7), 2) * u,
    "Heaviside": lambda u: sp.Heaviside(u - R(1, 7)) * u ** 2,
    "DiracDelta": lambda u: sp.DiracDelta(u - 5) + sp.DiracDelta(u - 7, 1) + u,
    "Piecewise": lambda u: sp.Piecewise((u ** 2, u > R(1, 7)), (sp.sin(u), True)),
    "Lt": lambda u: sp.Piecewise((u, u < R(1, 7)), (u ** 3, True)),
    "Le": lambda u: sp.Piecewise((u, u <= R(1, 7)), (u ** 3, True)),
    "Gt": lambda u: sp.Piecewise((u, u > R(1, 7)), (u ** 3, True)),
    "Ge": lambda u: sp.Piecewise((u, u >= R(1, 7)), (u ** 3, True)),
    "Eq": lambda u: sp.Piecewise((u, sp.Eq(u, 5)), (u ** 3, True)),
    "Ne": lambda u: sp.Piecewise((u, sp.Ne(u, 5)), (u ** 3, True)),
    "And": lambda u: sp.Piecewise((u, (u > -5) & (u < R(1, 7))), (sp.cos(u), True)),
    "Or": lambda u: sp.Piecewise((u, (u > 5) | (u < R(1, 7))), (sp.cos(u), True)),
    "Not": lambda u: sp.Piecewise((u, ~sp.Eq(u, 5)), (sp.cos(u), True)),
    "Float": lambda u: sp.Float("0.25") * u, "Rational": lambda u: R(1, 3) * u,
    "erfc": sp.erfc, "erfinv": lambda u: sp.erfinv(sp.tanh(u) / 2),
    "gamma": lambda u: sp.gamma(2 + u), "loggamma": lambda u: sp.loggamma(2 + u ** 2),
    "digamma": lambda u: sp.digamma(2 + u), "polygamma": lambda u: sp.polygamma(1, 2 + u),
    "beta": lambda u: sp.beta(2 + u, R(3, 2)), "factorial": lambda u: sp.factorial(2 + u),
    "binomial": lambda u: sp.binomial(4 + u, 2), "LambertW": lambda u: sp.LambertW(1 + u),
    "besselj": lambda u: sp.besselj(2, 3 * u), "besseli": lambda u: sp.besseli(1, u),
    "zeta": lambda u: sp.zeta(3 + u),
    "diff": lambda u: sp.Derivative(u ** 3 * sp.sin(u), X),
}
NOT_PRINTED = {"dot", "sum", "prod", "norm"}  # vectors: sympy prints them written out
NAMES = sorted(BUILD)
CHUNKS = [NAMES[i:i + 4] for i in range(0, len(NAMES), 4)]
INNER = [lambda v: v, lambda v: v ** 2 / 2 + v, lambda v: sp.sin(v) + v / 3]
COUNTS: collections.Counter = collections.Counter()
SETTINGS = settings(max_examples=int(os.environ.get("AUTODX_EXAMPLES", "1")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow], derandomize=True)


def test_the_round_trip_draws_from_the_whole_registry():
    assert set(BUILD) | NOT_PRINTED == set(FUNCTIONS)


_PLAIN = {
    sf.cbrt: lambda a: sp.sign(a) * sp.Abs(a) ** R(1, 3),
    sf.sigmoid: lambda a: 1 / (1 + sp.exp(-a)), sf.floor: sp.floor, sf.ceiling: sp.ceiling,
    sf.round: lambda a: sp.floor(a + R(1, 2)), sf.trunc: lambda a: sp.sign(a) * sp.floor(sp.Abs(a)),
    sp.Mod: lambda a, b: a - b * sp.floor(a / b),
}


def _exact(expr, x0: float, k: int) -> float:
    """sympy's derivative at 30 digits; mpmath's numerical one where sympy leaves a
    derivative unevaluated (zeta's)."""
    expr = expr.replace(sf.stop_gradient, lambda a: a.subs(X, x0))
    for cls, same in _PLAIN.items():  # autodx's own classes, in sympy's functions
        expr = expr.replace(cls, same)
    d = sp.diff(expr, X, k) if k else expr
    if d.has(sp.Subs, sp.Derivative):
        f = sp.lambdify(X, expr.doit(), "mpmath")  # our own sympy tree, not user text
        with mpmath.workdps(40):
            return float(mpmath.diff(f, mpmath.mpf(x0), k))
    return float(d.subs(X, sp.Float(x0, 30)).evalf(30))


@pytest.mark.parametrize("chunk", CHUNKS, ids=["-".join(c) for c in CHUNKS])
@SETTINGS
@given(data=st.data())
def test_sympy_printed_expressions_read_back_and_differentiate_right(chunk, data):
    expr = sp.Integer(0)
    for name in chunk:
        inner = data.draw(st.sampled_from(INNER))
        coefficient = data.draw(st.integers(1, 3))
        expr = expr + coefficient * BUILD[name](inner(X))
    x0 = data.draw(st.sampled_from([-0.6, -0.35, 0.3, 0.55, 0.8]))
    text = str(expr)
    r = autodx.grad(text, order=3, at={"x": x0})
    for k in range(4):
        got = r.value if k == 0 else r.derivatives[k]
        want = _exact(expr, x0, k)
        assert got == pytest.approx(want, rel=1e-8, abs=1e-9 * (1 + abs(want))), (text, k)
    COUNTS.update(chunk)


def test_every_function_got_examples():
    # runs after the round trip in file order; reports the examples per function
    if not COUNTS:
        pytest.skip("the round-trip tests did not run first")
    print("\nround-trip examples per function:", dict(sorted(COUNTS.items())))
    assert set(COUNTS) == set(BUILD)


# ---------------------------------------------------------------- the printed forms

@pytest.mark.parametrize("text, at, want", [
    ("(x > 0) & (x < 1)", 0.5, 1.0), ("(x > 0) | (x < -1)", -0.5, 0.0),
    ("~(x > 0)", -0.5, 1.0), ("Eq(x, 0.5) + Ne(x, 1)", 0.5, 2.0), ("0 < x < 1", 2.0, 0.0),
    ("x >= 0.5", 0.5, 1.0), ("x <= 0.4", 0.5, 0.0), ("x == 0.5", 0.5, 1.0), ("x != 0.5", 0.5, 0.0),
    ("Piecewise((x, x > 0), (0, True))", -2.0, 0.0), ("Piecewise((x, x > 0))", -2.0, None),
    ("Heaviside(x)", 0.0, 0.5), ("Heaviside(x, 1)", 0.0, 1.0), ("DiracDelta(x - 1)", 0.5, 0.0),
    ("DiracDelta(x, 1)", 0.5, 0.0), ("x % 3", -1.0, 2.0), ("Mod(x, -3)", 1.0, -2.0),
    ("Rational(1, 3)*3*x", 1.0, 1.0), ("Integer(2) + Float(0.5) + x", 1.0, 3.5),
    ("True*x + False", 2.0, 2.0), ("ln(E)*Abs(-x)", 2.0, 2.0), ("Max(x, 1, 3)", 2.0, 3.0),
    ("Min(x, 1)", 2.0, 1.0), ("polygamma(0, x) - digamma(x)", 2.0, 0.0),
    ("gammaln(x) - loggamma(x) + lgamma(x)", 3.0, 0.6931471805599453),
    ("arcsin(x) + arccos(x)", 0.3, 1.5707963267948966), ("expit(0) + x", 0.0, 0.5),
    ("sinc(0) + x", 0.0, 1.0), ("Derivative(x**3, (x, 2))", 2.0, 12.0),
    ("Derivative(x**3*y, x, y)", 2.0, None),
])
def test_printed_forms_have_their_meaning(text, at, want):
    variables = P.parse_expression(text)[2].variables
    point = {"x": at, **({"y": 1.0} if "y" in variables else {})}
    r = autodx.grad(text, at=point)
    if want is None:
        return
    assert r.value == pytest.approx(want, rel=1e-14, abs=1e-15)


def test_derivatives_of_printed_derivatives():
    # Derivative(x**3*y, x, y) is diff(diff(., x), y): 3x^2, whose x-derivative is 6x
    r = autodx.grad("Derivative(x**3*y, x, y)", at={"x": 2.0, "y": 1.0}, wrt=["x"])
    assert r.value == pytest.approx(12.0) and r.derivatives[1] == pytest.approx(12.0)


@pytest.mark.parametrize("text, message", [
    ("I*x", "complex numbers are not supported"),
    ("re(x)", "complex numbers are not supported"),
    ("im(x) + 1", "complex numbers are not supported"),
    ("cott(x)", "did you mean cot()"),
    ("sinn(x)", "`autodx functions`"),
    ("Piecewise(x, 1)", "(expression, condition) pairs"),
    ("Derivative(x**2)", "the variable"),
    ("Derivative(x**2, (x, y))", "integer constant"),
    ("x = 1", "not allowed"), ("x ! 1", "not part of the expression"),
])
def test_refusals_say_why(text, message):
    with pytest.raises(ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        P.parse_expression(text)


def test_cot_does_not_suggest_dot():
    with pytest.raises(ExpressionError) as e:
        P.parse_expression("cpt(x)")
    assert "dot" not in str(e.value)


def test_symbolic_output_of_non_smooth_functions_reads_back():
    from autodx.check import sympy_view

    for text in ("Max(x, y)*x", "Heaviside(x)*x**2", "sign(x)*x", "Piecewise((x**2, x > 0), (0, True))",
                 "floor(x)*x", "Mod(x, 2)*x", "frac(x)*x", "zeta(x)", "Abs(x)"):
        tree, helpers, info = P.parse_expression(text)
        env = sympy_view.symbols({v: None for v in info.variables})
        expr = sympy_view.to_sympy(tree, helpers, env)
        for k in range(1, 4):
            printed = sympy_view.text(sp.diff(expr, env["x"], k))
            P.parse_expression(printed)


# ---------------------------------------------------------------- tails

def _mp_sigmoid(t):
    return 1 / (1 + mpmath.exp(-t))


@pytest.mark.parametrize("text, f, x0", [
    ("tanh(x)", mpmath.tanh, -20.0), ("tanh(x)", mpmath.tanh, 10.0), ("tanh(x)", mpmath.tanh, 30.0),
    ("sigmoid(x)", _mp_sigmoid, 35.0), ("sigmoid(x)", _mp_sigmoid, 20.0),
    ("sigmoid(x)", _mp_sigmoid, -30.0), ("erf(x)", mpmath.erf, 5.0), ("erf(x)", mpmath.erf, -25.0),
    ("erfc(x)", mpmath.erfc, 25.0), ("erfc(x)", mpmath.erfc, -3.0), ("exp(x)", mpmath.exp, -30.0),
    ("expm1(x)", mpmath.expm1, 1e-12), ("sech(x)", mpmath.sech, 30.0), ("coth(x)", mpmath.coth, 25.0),
    ("csch(x)", mpmath.csch, -25.0), ("log1p(x)", mpmath.log1p, 1e-10),
])
def test_tails_keep_relative_accuracy(text, f, x0):
    r = autodx.grad(text, order=5, at=x0)
    with mpmath.workdps(60):
        if text.startswith("erf"):  # erf(-25) = -1 + 1e-274: Hermite's closed form
            sign = 1 if text == "erf(x)" else -1
            want = [None] + [sign * 2 / mpmath.sqrt(mpmath.pi) * (-1) ** (k - 1) *
                             mpmath.hermite(k - 1, x0) * mpmath.exp(-mpmath.mpf(x0) ** 2) /
                             mpmath.factorial(k) for k in range(1, 6)]
        else:
            want = mpmath.taylor(f, mpmath.mpf(x0), 5)
    for k in range(1, 6):
        exact = float(want[k] * mpmath.factorial(k))
        if abs(exact) < 1e-300:  # below the normal float64 numbers: absolute accuracy
            assert abs(r.derivatives[k]) < 1e-290, (k, r.derivatives[k])
        else:
            assert r.derivatives[k] == pytest.approx(exact, rel=1e-12), (k, exact)


@pytest.mark.parametrize("text, x0", [("tanh(x)", -20.0), ("sigmoid(x)", 35.0)])
def test_tails_in_the_tensor_path(text, x0):
    # two variables: JAX's own nested derivatives of the registry's value
    r = autodx.grad(f"{text} + 0*y", order=2, at={"x": x0, "y": 0.0})
    f = mpmath.tanh if text.startswith("tanh") else _mp_sigmoid
    with mpmath.workdps(60):
        want = float(mpmath.diff(f, mpmath.mpf(x0), 2))
    assert r.derivatives[2][0][0] == pytest.approx(want, rel=1e-12)


def test_zero_to_a_positive_power_has_derivative_zero():
    r = autodx.grad("0**y", order=3, at={"y": 0.5})
    assert [r.derivatives[k] for k in (1, 2, 3)] == [0.0, 0.0, 0.0]
    r = autodx.grad("0.0**y * x", at={"y": 0.5, "x": 1.0})
    assert list(r.derivatives[1]) == [0.0, 0.0]


def test_sinc_at_zero_and_near_it():
    for x0 in (0.0, 1e-3, 0.4):
        r = autodx.grad("sinc(x)", order=8, at=x0)
        with mpmath.workdps(40):
            want = mpmath.taylor(mpmath.sinc, mpmath.mpf(x0), 8)
        for k in range(1, 9):
            exact = float(want[k] * mpmath.factorial(k))
            assert r.derivatives[k] == pytest.approx(exact, rel=1e-9, abs=1e-14), (x0, k)


@pytest.mark.parametrize("text, f, x0", [
    ("LambertW(x)", mpmath.lambertw, 2.0), ("gamma(x)", mpmath.gamma, 4.5),
    ("besselj(3, x)", lambda t: mpmath.besselj(3, t), 20.0), ("zeta(x)", None, 1.5),
    ("erfinv(x)", mpmath.erfinv, 0.9),
])
def test_special_functions_at_order_20(text, f, x0):
    r = autodx.grad(text, order=20, at=x0)
    with mpmath.workdps(40):
        if f is None:  # mpmath's zeta has its derivatives in closed form
            want = [mpmath.zeta(x0, 1, k) / mpmath.factorial(k) for k in range(21)]
        else:
            want = mpmath.taylor(f, mpmath.mpf(x0), 20)
    for k in (5, 10, 20):
        exact = float(want[k] * mpmath.factorial(k))
        assert r.derivatives[k] == pytest.approx(exact, rel=1e-7), (k, exact)


# ---------------------------------------------------------------- autodx functions

def _run(*args: str) -> str:
    return subprocess.run([sys.executable, "-m", "autodx", *args], capture_output=True,
                          text=True, check=True).stdout


def test_functions_lists_every_entry_without_jax():
    rows = json.loads(_run("functions", "--format", "json"))
    assert [r["name"] for r in rows] == sorted(FUNCTIONS, key=str.lower)
    asin = next(r for r in rows if r["name"] == "asin")
    assert asin["aliases"] == "arcsin" and asin["domain"]
    code = ("import sys; sys.argv = ['autodx', 'functions', '--format', 'plain']\n"
            "from autodx.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'jax', 'sympy', 'mpmath'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_the_docs_table_is_the_registry():
    from autodx.cli.functions import markdown_table

    docs = (ROOT / "docs" / "expressions.md").read_text()
    start = docs.index("keeps it equal -->\n") + len("keeps it equal -->\n")
    end = docs.index("<!-- end of the generated table -->")
    assert docs[start:end] == markdown_table(), "regenerate it with markdown_table()"


def test_sympys_named_constants_read_back():
    """What series --symbolic prints for gamma at 1 (EulerGamma) is an expression autodx
    reads, with sympy's values for the constants."""
    import mpmath
    import sympy as sp

    from conftest import cli

    line = cli("series", "gamma(x)", "--at", "1", "--order", "2", "--symbolic",
               "--format", "plain").stdout.strip()
    assert "EulerGamma" in line
    got = float(cli("grad", line, "--at", "1.1", "--order", "1", "--format",
                    "plain").stdout.split()[0])
    g = float(mpmath.euler)
    assert got == pytest.approx(-g + 2 * 0.1 * (g ** 2 / 2 + math.pi ** 2 / 12), rel=1e-14)
    doc = cli("grad", "EulerGamma + Catalan*x + GoldenRatio*x**2", "--at", "1",
              "--format", "json").json()
    want = float(sp.EulerGamma + sp.Catalan + sp.GoldenRatio)
    assert doc["results"][0]["value"] == pytest.approx(want, rel=1e-15)
