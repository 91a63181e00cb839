"""autodx series: the Taylor polynomial, against closed forms and sympy, and read back
by autodx itself: its error near the point falls as h^(N+1)."""
from __future__ import annotations

import itertools
import json
import math

import pytest
import sympy as sp

from conftest import assert_user_error, cli


def _value(expr: str, at: str) -> float:
    return cli("grad", expr, "--at", at, "--format", "json").json()["results"][0]["value"]


def test_exp_at_zero_has_the_coefficients_1_over_k_factorial():
    doc = cli("series", "exp(x)", "--at", "0", "--order", "6", "--format", "json").json()
    assert [t["powers"] for t in doc["terms"]] == [{"x": k} for k in range(7)]
    assert [t["coefficient"] for t in doc["terms"]] == pytest.approx(
        [1 / math.factorial(k) for k in range(7)], rel=1e-15)
    assert doc["schema"] == 1 and doc["order"] == 6


@pytest.mark.parametrize("expr, f, x0, order", [
    ("log(1 + x)", lambda x: math.log(1 + x), 0.5, 3),
    ("sin(x)*exp(x)", lambda x: math.sin(x) * math.exp(x), -0.7, 4),
    ("1/(1 + x**2)", lambda x: 1 / (1 + x * x), 0.0, 5),
])
def test_the_polynomial_reads_back_and_its_error_falls_as_h_to_the_n_plus_1(expr, f, x0,
                                                                             order):
    run = cli("series", expr, "--at", str(x0), "--order", str(order), "--format", "plain")
    assert run.code == 0, run
    poly = run.stdout.strip()
    assert "\n" not in poly
    errors = [abs(_value(poly, f"x={x0 + h}") - f(x0 + h)) for h in (0.02, 0.01)]
    assert _value(poly, f"x={x0}") == pytest.approx(f(x0), rel=1e-15)
    ratio = errors[0] / errors[1]
    # an odd or even function may skip the next power: allow h^(N+1) or h^(N+2)
    assert 2 ** (order + 1) * 0.7 < ratio < 2 ** (order + 2) * 1.3, (errors, ratio)


def test_several_variables_agree_with_sympy_term_by_term():
    x, y = sp.symbols("x y")
    f = sp.sin(x) * sp.exp(y) + x * y ** 2
    at = {x: sp.Rational(1, 2), y: sp.Rational(-1, 4)}
    doc = cli("series", "sin(x)*exp(y) + x*y**2", "--at", "x=0.5,y=-0.25", "--order", "3",
              "--format", "json").json()
    assert doc["coordinates"] == ["x", "y"]
    got = {(t["powers"]["x"], t["powers"]["y"]): t["coefficient"] for t in doc["terms"]}
    want = {(a, b): float(sp.diff(f, x, a, y, b).subs(at) / (math.factorial(a) *
                                                            math.factorial(b)))
            for a, b in itertools.product(range(4), repeat=2) if a + b <= 3}
    assert set(got) == set(want)
    for k in want:
        assert got[k] == pytest.approx(want[k], rel=1e-12, abs=1e-15), k


def test_a_vector_variable_reads_back_at_its_point():
    run = cli("series", "exp(z[0])*z[1]", "--at", "z=[0.1,2]", "--order", "2", "-f", "plain")
    poly = run.stdout.strip()
    assert "z[0]" in poly and "z[1]" in poly
    assert _value(poly, "z=[0.1,2]") == pytest.approx(math.exp(0.1) * 2, rel=1e-15)


def test_other_formats_and_errors(tmp_cwd):
    csv = cli("series", "x**3", "--at", "1", "--order", "3", "--format", "csv").stdout
    assert csv.splitlines() == ["power of x,degree,coefficient", "0,0,1.0", "1,1,3.0",
                                "2,2,3.0", "3,3,1.0"]
    table = cli("series", "x**3", "--at", "1", "--order", "3").stdout
    assert "polynomial: 1.0 + 3.0*(x - 1.0) + 3.0*(x - 1.0)**2 + (x - 1.0)**3" in table
    assert cli("series", "x**3", "--at", "1", "-o", "p.json").code == 0
    assert json.loads((tmp_cwd / "p.json").read_text())["polynomial"].startswith("1.0 + ")
    assert_user_error(cli("series", "x*y", "--at", "x=1"), "no value for y")
    assert_user_error(cli("series", "x", "--at", "1", "--order", "0"), "--order 0")
