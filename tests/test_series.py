"""autodx series: the Taylor polynomial, against closed forms and sympy, and read back
by autodx itself: its error near the point falls as h^(N+1)."""
from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys

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


# ---------------------------------------------------------------- past the tensor limits

def test_several_variables_past_the_tensor_limit_are_one_clear_error_at_once():
    import time

    start = time.monotonic()
    run = cli("series", "sum(exp(x))", "--at", "x=[" + ",".join(["0.5"] * 20) + "]",
              "--order", "6")
    assert_user_error(run, "--order 6", "20 coordinates", "--wrt")
    assert time.monotonic() - start < 10


def test_two_variables_read_back_with_error_falling_as_h_to_the_n_plus_1():
    # along the direction (1, -2) from the point: the remainder is O(h^(N+1))
    x0, y0, order = 0.3, 0.7, 3
    f = lambda x, y: math.exp(x) * math.cos(y) + x * y ** 3  # noqa: E731
    poly = cli("series", "exp(x)*cos(y) + x*y**3", "--at", f"x={x0},y={y0}", "--order",
               str(order), "-f", "plain").stdout.strip()
    errors = [abs(_value(poly, f"x={x0 + h},y={y0 - 2 * h}") - f(x0 + h, y0 - 2 * h))
              for h in (0.02, 0.01)]
    assert 2 ** (order + 1) * 0.7 < errors[0] / errors[1] < 2 ** (order + 1) * 1.3, errors


# ---------------------------------------------------------------- --symbolic

X, Y, H, K = sp.symbols("x y h k")


def _sym(text: str) -> sp.Expr:
    """autodx's exact text read by sympy (the test's oracle side, not autodx's parser)."""
    return sp.parse_expr(text, local_dict={"x": X, "y": Y, "E": sp.E, "pi": sp.pi})


def _taylor(f: sp.Expr, x0, order: int) -> list:
    """sympy's own series of f around x0: the coefficients of h^0..h^order."""
    s = sp.series(f.subs(X, x0 + H), H, 0, order + 1).removeO()
    return [sp.expand(s).coeff(H, k) for k in range(order + 1)]


def _symbolic(expr: str, at: str, order: int, *more: str) -> dict:
    return cli("series", expr, "--at", at, "--order", str(order), "--symbolic", *more,
               "--format", "json").json()


def _assert_exact(term: dict, want: sp.Expr) -> None:
    got = _sym(term["symbolic"])
    assert sp.simplify(got - want) == 0, (term, want)
    assert float(got) == pytest.approx(term["coefficient"], rel=1e-13, abs=1e-15), term


@pytest.mark.parametrize("expr, f, at, x0, order", [
    ("exp(x)", sp.exp(X), "0", 0, 8),
    ("sin(x)", sp.sin(X), "pi/4", sp.pi / 4, 5),
    ("log(1 + x)", sp.log(1 + X), "0.5", sp.Rational(1, 2), 6),
    ("1/(1 + x**2)", 1 / (1 + X ** 2), "-1.25", sp.Rational(-5, 4), 4),
])
def test_symbolic_coefficients_are_sympys_series_at_the_exact_point(expr, f, at, x0, order):
    doc = _symbolic(expr, at, order)
    want = _taylor(f, x0, order)
    assert [t["powers"]["x"] for t in doc["terms"]] == list(range(order + 1))
    for term, w in zip(doc["terms"], want):
        _assert_exact(term, w)
    assert doc["warnings"] == []
    exact = _sym(doc["symbolic_polynomial"])
    assert sp.simplify(exact - sum(w * (X - x0) ** k for k, w in enumerate(want))) == 0


def test_symbolic_keeps_the_points_text_exact():
    doc = _symbolic("sin(x)", "pi/4", 3)
    assert [t["symbolic"] for t in doc["terms"]] == ["sqrt(2)/2", "sqrt(2)/2", "-sqrt(2)/4",
                                                     "-sqrt(2)/12"]
    assert "(x - pi/4)**3" in doc["symbolic_polynomial"]
    # log(1 + x) at 0.5: rationals, as the decimal 0.5 is 1/2
    logs = _symbolic("log(1 + x)", "0.5", 3)["terms"]
    assert [t["symbolic"] for t in logs] == ["log(3/2)", "2/3", "-2/9", "8/81"]


def test_symbolic_two_variables_match_sympys_double_series():
    f = sp.sin(X) * sp.exp(Y) + X * Y ** 2
    x0, y0, order = sp.Rational(1, 2), sp.Rational(-1, 4), 3
    inner = sp.series(f.subs({X: x0 + H, Y: y0 + K}), H, 0, order + 1).removeO()
    double = sp.expand(sp.series(inner, K, 0, order + 1).removeO())
    doc = _symbolic("sin(x)*exp(y) + x*y**2", "x=0.5,y=-0.25", order)
    assert len(doc["terms"]) == 10
    for term in doc["terms"]:
        a, b = term["powers"]["x"], term["powers"]["y"]
        _assert_exact(term, double.coeff(H, a).coeff(K, b))


def test_symbolic_with_a_vector_and_a_variable_held_fixed_reads_back():
    args = ("series", "exp(z[0])*z[1] + y", "--at", "z=[0.1,pi],y=E", "--wrt", "z",
            "--order", "2", "-f", "plain")
    run = cli(*args, "--symbolic")
    assert run.code == 0, run
    poly = run.stdout.strip()
    assert "(z[0] - 1/10)" in poly and "(z[1] - pi)" in poly and "E" in poly
    z0, z1 = sp.symbols("z0 z1")
    f = sp.exp(z0) * z1 + sp.E
    inner = sp.series(f.subs({z0: sp.Rational(1, 10) + H, z1: sp.pi + K}), H, 0, 3).removeO()
    want = sp.expand(sp.series(inner, K, 0, 3).removeO())
    want = sum(want.coeff(H, a).coeff(K, b) * H ** a * K ** b
               for a in range(3) for b in range(3 - a))
    got = sp.parse_expr(poly.replace("z[0]", "z0").replace("z[1]", "z1"),
                        local_dict={"z0": z0, "z1": z1, "E": sp.E, "pi": sp.pi})
    shifted = want.subs({H: z0 - sp.Rational(1, 10), K: z1 - sp.pi})
    assert sp.simplify(got - shifted) == 0
    # autodx reads it back, to the number of the float polynomial
    near = f"z=[{0.1 + 0.01},{math.pi - 0.02}]"
    assert _value(poly, near) == pytest.approx(_value(cli(*args).stdout.strip(), near),
                                               rel=1e-14)


def test_symbolic_table_plain_and_csv_shapes():
    table = cli("series", "sin(x)", "--at", "pi/4", "--order", "2", "--symbolic").stdout
    header = next(line for line in table.splitlines() if "coefficient" in line)
    assert header.split()[-1] == "symbolic"
    assert "-sqrt(2)/4" in table
    assert "exact polynomial: sqrt(2)/2 + sqrt(2)/2*(x - pi/4) - sqrt(2)/4*(x - pi/4)**2" \
        in table
    plain = cli("series", "sin(x)", "--at", "pi/4", "--order", "2", "--symbolic", "-f",
                "plain").stdout
    assert plain == "sqrt(2)/2 + sqrt(2)/2*(x - pi/4) - sqrt(2)/4*(x - pi/4)**2\n"
    import csv as csvlib

    text = cli("series", "besselj(2, x)", "--at", "1", "--order", "2", "--symbolic", "-f",
               "csv").stdout
    rows = list(csvlib.reader(text.splitlines()))
    assert rows[0] == ["power of x", "degree", "coefficient", "symbolic"]
    assert all(len(r) == 4 for r in rows)
    j = [sp.besselj(2, X).diff(X, k).subs(X, 1) / math.factorial(k) for k in range(3)]
    for row, want in zip(rows[1:], j):
        got = sp.parse_expr(row[3], local_dict={"besselj": sp.besselj})
        assert sp.N(got - want, 30) == pytest.approx(0, abs=1e-25)
        assert float(row[2]) == pytest.approx(float(want), rel=1e-12)


def test_symbolic_out_of_time_shows_the_numbers_with_one_warning():
    run = cli("series", "exp(x)", "--at", "0", "--order", "3", "--symbolic",
              "--symbolic-timeout", "0.001", "--format", "json")
    assert run.code == 0, run
    doc = json.loads(run.stdout)
    assert [t["symbolic"] for t in doc["terms"]] == [None] * 4
    assert [t["coefficient"] for t in doc["terms"]] == pytest.approx(
        [1 / math.factorial(k) for k in range(4)], rel=1e-15)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: no exact coefficient"), lines
    assert "--symbolic-timeout" in lines[0] and "4 terms" in lines[0]
    assert doc["warnings"] == [lines[0][len("warning: "):]]
    # the exact polynomial falls back on the numbers, and still reads back
    assert doc["symbolic_polynomial"] == doc["polynomial"]


def test_symbolic_keeps_what_sympy_finished_before_the_time_limit():
    run = cli("series", "tan(x)", "--at", "1", "--order", "150", "--symbolic",
              "--symbolic-timeout", "3", "--format", "json")
    assert run.code == 0, run
    terms = json.loads(run.stdout)["terms"]
    done = [t["symbolic"] is not None for t in terms]
    assert done == sorted(done, reverse=True)  # the low degrees first, none skipped
    assert not all(done)
    assert "of 151 terms" in run.stderr and "within 3 s" in run.stderr
    for term in terms[:min(done.count(True), 8)]:
        want = sp.tan(X).diff(X, term["degree"]).subs(X, 1) / math.factorial(term["degree"])
        assert sp.N(_sym(term["symbolic"]) - want, 30) == pytest.approx(0, abs=1e-25)


def test_symbolic_where_the_exact_value_is_not_real_warns_and_keeps_the_rest():
    run = cli("series", "log(x)", "--at", "-1", "--order", "2", "--symbolic", "-f", "json")
    assert run.code == 0, run
    terms = json.loads(run.stdout)["terms"]
    assert terms[0]["symbolic"] is None and terms[0]["coefficient"] is None
    assert [_sym(t["symbolic"]) for t in terms[1:]] == [-1, sp.Rational(-1, 2)]
    assert "no exact coefficient for 1 of 3 terms (the constant): the exact value is " \
        "not real" in run.stderr


def test_symbolic_errors():
    assert_user_error(cli("series", "exp(x)", "--at", "0", "--symbolic", "-o", "c.npy"),
                      "--symbolic", ".json")
    assert_user_error(cli("series", "exp(x)", "--at", "0", "--symbolic",
                          "--symbolic-timeout", "0"), "--symbolic-timeout 0")
    assert_user_error(cli("series", "exp(x)", "--at", "0", "--at", "1"),
                      "series expands around one point", "2 points")


def test_series_without_symbolic_does_not_import_sympy():
    code = ("import sys; sys.argv = ['autodx', 'series', 'exp(x)', '--at', '0', '-f', "
            "'plain']\nfrom autodx.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'sympy', 'mpmath'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=dict(os.environ, AUTODX_SERVER="off")).stdout
    assert out.strip().splitlines() == ["1.0 + x + 0.5*x**2 + 0.16666666666666666*x**3", "[]"]


def test_symbolic_at_a_kink_has_no_exact_curvature_and_says_so():
    # sympy's second derivative of abs is 2*DiracDelta(x): no number at 0
    run = cli("series", "abs(x)", "--at", "0", "--order", "2", "--symbolic", "-f", "json")
    assert run.code == 0, run
    terms = json.loads(run.stdout)["terms"]
    assert [t["symbolic"] for t in terms] == ["0", "0", None]
    assert "(x**2): sympy cannot evaluate it here (a kink" in run.stderr


def test_a_polynomial_too_long_to_read_back_says_so():
    """The text is meant to be pasted back: past the expression length limit, a warning
    says so (and the numbers are still written)."""
    from autodx.parse import MAX_LENGTH

    run = cli("series", "exp(x+y+z)*sin(x)", "--at", "x=0.1,y=0.2,z=0.3", "--order", "10",
              "--format", "plain")
    assert run.code == 0 and len(run.stdout.strip()) > MAX_LENGTH
    assert run.stderr.startswith(f"warning: the polynomial is {len(run.stdout.strip()):,} "
                                 "characters")
    short = cli("series", "exp(x)", "--at", "0", "--order", "3", "--format", "plain")
    assert short.code == 0 and short.stderr == ""
