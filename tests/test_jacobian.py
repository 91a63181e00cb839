"""autodx jacobian: the Jacobian of a list of expressions, a list helper, or a
vector-valued expression, checked against sympy's own Jacobian at high precision."""
from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest
import sympy as sp

from conftest import assert_user_error, cli

X, Y, Z = sp.symbols("x y z")


def _sympy_jacobian(items: list[sp.Expr], coords: list[sp.Symbol], point: dict) -> tuple:
    """(values, Jacobian) from sympy at 30 digits: the oracle."""
    subs = {s: sp.Rational(str(v)) for s, v in point.items()}
    values = [float(sp.N(e.subs(subs), 30)) for e in items]
    jac = sp.Matrix(items).jacobian(coords)
    return values, [[float(sp.N(jac[i, j].subs(subs), 30)) for j in range(len(coords))]
                    for i in range(len(items))]


def _close(a, b, rel=1e-12, abs_=1e-14):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape, (a, b)
    assert np.allclose(a, b, rtol=rel, atol=abs_), (a, b)


def test_the_issue_example_against_a_closed_form():
    doc = cli("jacobian", "[x*y, sin(x), x + y**2]", "--at", "x=1,y=2",
              "--format", "json").json()
    assert doc["command"] == "jacobian" and doc["coordinates"] == ["x", "y"]
    assert doc["outputs"] == ["x*y", "sin(x)", "x + y**2"]
    r = doc["results"][0]
    _close(r["value"], [2.0, math.sin(1.0), 5.0])
    _close(r["jacobian"], [[2.0, 1.0], [math.cos(1.0), 0.0], [1.0, 4.0]])


# More outputs than inputs (forward mode) and more inputs than outputs (reverse mode).
@pytest.mark.parametrize("texts, items, point", [
    ("[x*y*z, atan2(y, x), exp(-x**2)*cos(z), log(1 + y**2), sqrt(x + z)]",
     [X * Y * Z, sp.atan2(Y, X), sp.exp(-X ** 2) * sp.cos(Z), sp.log(1 + Y ** 2),
      sp.sqrt(X + Z)], {X: 0.7, Y: -1.3, Z: 2.1}),
    ("[x**2*y - sinh(z)*y, erf(x*z) + gamma(y)]",
     [X ** 2 * Y - sp.sinh(Z) * Y, sp.erf(X * Z) + sp.gamma(Y)], {X: 0.3, Y: 1.7, Z: -0.4}),
    ("[tanh(x + 2*y - z)]", [sp.tanh(X + 2 * Y - Z)], {X: 0.1, Y: 0.2, Z: 0.3}),
])
def test_against_sympy_in_both_modes(texts, items, point):
    at = ",".join(f"{s}={v}" for s, v in point.items())
    doc = cli("jacobian", texts, "--at", at, "--format", "json").json()
    values, jac = _sympy_jacobian(items, [X, Y, Z], point)
    _close(doc["results"][0]["value"], values)
    _close(doc["results"][0]["jacobian"], jac)


def test_forward_and_reverse_mode_agree():
    import jax.numpy as jnp

    from autodx import engine

    def f(v):
        return jnp.stack([v[0] * v[1], jnp.sin(v[2]) * v[0], v[1] ** 3])

    x = jnp.array([0.5, -1.5, 2.0])
    (v1, j1), (v2, j2) = engine.jacobian(f, True)(x), engine.jacobian(f, False)(x)
    want = [[-1.5, 0.5, 0.0], [math.sin(2.0), 0.0, 0.5 * math.cos(2.0)], [0.0, 6.75, 0.0]]
    _close(j1, want)
    _close(j2, want)
    _close(v1, v2)


def test_a_helper_that_returns_a_list():
    doc = cli("jacobian", "F(x, y)", "--def", "F(a, b) = [a*b, exp(a - b)]",
              "--at", "x=1,y=0.5", "--format", "json").json()
    assert doc["outputs"] == ["F(x, y)[0]", "F(x, y)[1]"]
    e = math.exp(0.5)
    _close(doc["results"][0]["jacobian"], [[0.5, 1.0], [e, -e]])


def test_a_vector_valued_expression_and_wrt():
    doc = cli("jacobian", "exp(v)*w", "--at", "v=[0,1,2],w=2", "--format", "json").json()
    assert doc["coordinates"] == ["v[0]", "v[1]", "v[2]", "w"]
    assert doc["outputs"] == ["(exp(v)*w)[0]", "(exp(v)*w)[1]", "(exp(v)*w)[2]"]
    e = [math.exp(k) for k in range(3)]
    _close(doc["results"][0]["jacobian"],
           [[2 * e[0], 0, 0, e[0]], [0, 2 * e[1], 0, e[1]], [0, 0, 2 * e[2], e[2]]])
    only_w = cli("jacobian", "exp(v)*w", "--at", "v=[0,1,2],w=2", "--wrt", "w",
                 "--format", "json").json()
    assert only_w["coordinates"] == ["w"]
    _close(only_w["results"][0]["jacobian"], [[e[0]], [e[1]], [e[2]]])


def test_every_output_format_over_data_rows(tmp_path):
    data = tmp_path / "points.csv"
    data.write_text("x,y\n1,2\n3,4\n-0.5,0.25\n")
    rows = [(1.0, 2.0), (3.0, 4.0), (-0.5, 0.25)]
    want = [[[y, x], [1 / y, -x / y ** 2]] for x, y in rows]

    doc = cli("jacobian", "[x*y, x/y]", "--data", str(data), "--format", "json").json()
    _close([r["jacobian"] for r in doc["results"]], want)

    run = cli("jacobian", "[x*y, x/y]", "--data", str(data), "--format", "csv")
    table = list(csv.reader(io.StringIO(run.stdout)))
    assert table[0] == ["x", "y", "f[0]", "f[1]", "df[0]/dx", "df[0]/dy", "df[1]/dx",
                        "df[1]/dy"]
    for line, (x, y), j in zip(table[1:], rows, want):
        _close([float(v) for v in line], [x, y, x * y, x / y, *j[0], *j[1]])

    plain = cli("jacobian", "[x*y, x/y]", "--data", str(data), "--format", "plain")
    numbers = [[float(v) for v in line.split()] for line in plain.stdout.splitlines()]
    _close(numbers, [row for j in want for row in j])  # one matrix row a line

    out = tmp_path / "j.npz"
    assert cli("jacobian", "[x*y, x/y]", "--data", str(data), "--out", str(out)).code == 0
    with np.load(out) as z:
        _close(z["jacobian"], want)
        assert z["coordinates"].tolist() == ["x", "y"]


@pytest.mark.parametrize("columns", ["40", "80", "200"])
def test_the_table_shows_every_number(columns, monkeypatch):
    monkeypatch.setenv("COLUMNS", columns)
    run = cli("jacobian", "[x*y, sin(x), x + y**2]", "--at", "x=1,y=2", "--at", "x=3,y=4")
    assert run.code == 0, run
    for number in ["0.841470984808", "0.540302305868", "0.14112000806", "-0.9899924966"]:
        assert number in run.stdout.replace("\n", ""), (number, run.stdout)


def test_check_agrees_and_catches_a_wrong_entry(monkeypatch):
    run = cli("jacobian", "[x*y, atan2(y, x)]", "--at", "x=1,y=2", "--check",
              "--format", "json")
    assert run.code == 0, run
    doc = json.loads(run.stdout)
    assert doc["check"]["ok"] == 6 and doc["check"]["disagrees"] == 0

    import autodx.jacobians as J

    real = J.jacobian_rows

    def wrong(*a, **k):
        out = real(*a, **k)
        out.values["jacobian"] = out.values["jacobian"].copy()
        out.values["jacobian"][:, 1, 0] *= 1 + 1e-6
        return out
    monkeypatch.setattr(J, "jacobian_rows", wrong)
    run = cli("jacobian", "[x*y, atan2(y, x)]", "--at", "x=1,y=2", "--check",
              "--format", "json")
    assert run.code == 3, run
    checks = json.loads(run.stdout)["results"][0]["check"]
    assert [c["entry"] for c in checks if c["verdict"] == "disagrees"] == ["df[1]/dx"]


def test_symbolic_formulas_without_a_point():
    doc = cli("jacobian", "[x*y, x/y]", "--symbolic", "--format", "json").json()
    sym = doc["symbolic"]
    assert sym["value"] == ["x*y", "x/y"]
    got = [[sp.sympify(s) for s in row] for row in sym["jacobian"]]  # test-side oracle
    want = sp.Matrix([X * Y, X / Y]).jacobian([X, Y])
    assert all(sp.simplify(got[i][j] - want[i, j]) == 0 for i in range(2) for j in range(2))


@pytest.mark.parametrize("args, fragment", [
    (["jacobian", "[x, y", "--at", "x=1,y=2"], "the list is not closed"),
    (["jacobian", "[x, [y]]", "--at", "x=1,y=2"], "column 5: a list"),
    (["jacobian", "[x, y] + 1", "--at", "x=1,y=2"], "after the list"),
    (["jacobian", "[x, , y]", "--at", "x=1,y=2"], "an item of the list is empty"),
    (["jacobian", "2*F(x)", "--def", "F(a) = [a, a**2]", "--at", "x=1"], "returns a list"),
    (["jacobian", "[F(x), x]", "--def", "F(a) = [a, a**2]", "--at", "x=1"],
     "returns a list"),
    (["grad", "[x, y]", "--at", "x=1,y=2"], "autodx jacobian"),
    (["jacobian", "[x*y, z]", "--at", "x=1,y=2"], "no value for z"),
    (["jacobian", "[" + ", ".join(["x"] * 1001) + "]", "--at", "x=1"], "over the limit"),
])
def test_bad_input_is_one_error_line(args, fragment):
    run = cli(*args)
    assert_user_error(run)
    assert fragment in run.stderr, run


def test_the_python_api_at_a_point_and_over_data():
    import autodx

    assert "jacobian" in dir(autodx)
    _close(autodx.jacobian("[x*y, sin(x)]", at={"x": 1.0, "y": 2.0}),
           [[2.0, 1.0], [math.cos(1.0), 0.0]])
    x, y = np.array([0.5, 1.5, -2.0]), np.array([1.0, -1.0, 3.0])
    rows = autodx.jacobian("[x*y, sin(x)]", data={"x": x, "y": y})
    assert rows.shape == (3, 2, 2)
    for j, xi, yi in zip(rows, x, y):
        _close(j, [[yi, xi], [math.cos(xi), 0.0]])
    from autodx.errors import InputError

    with pytest.raises(InputError, match="takes one point"):
        autodx.jacobian("[x*y]", at="x=0:1:3,y=1")


def test_symbolic_plain_gives_the_matrix_entries_alone():
    """--format plain without a point: the entries of the Jacobian, row by row (not the
    outputs themselves, as grad leaves f out)."""
    run = cli("jacobian", "[x*y, x/y]", "--symbolic", "--format", "plain")
    assert run.code == 0, run
    got = [sp.sympify(line) for line in run.stdout.splitlines()]  # test-side oracle
    want = sp.Matrix([X * Y, X / Y]).jacobian([X, Y])
    assert len(got) == 4 and all(sp.simplify(g - w) == 0 for g, w in zip(got, want))


@pytest.mark.parametrize("defs, fragment", [
    (["F(a) = [a, 2*a]", "H(b) = F(b)"], "--def H, column 2: F() returns a list"),
    (["G(u) = [u, u]", "F(a,b) = [a*b, G(a)]"], "--def F, column 8: G() returns a list"),
])
def test_a_list_helper_inside_another_helper_is_named(defs, fragment):
    args = ["jacobian", "H(x)" if "H(" in defs[1] else "F(x, y)", "--at", "x=1,y=2"]
    run = cli(*args, *[a for d in defs for a in ("--def", d)])
    assert_user_error(run, fragment)
