"""Derivative tensors by interpolation from univariate Taylor series (autodx.tensors).

Oracles: the formula of Griewank, Utke and Walther (2000) in exact rationals, written
here from the paper; exact derivatives of integer polynomials; sympy's derivatives at
40 digits. Errors of a tensor are measured against its scale (largest entry).
"""
from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from conftest import assert_user_error, cli

import autodx
from autodx import tensors
from autodx.errors import InputError


# ---------------------------------------------------------------- exact references

def _multi(n: int, total: int):
    """Every multi-index of n entries adding up to total."""
    if n == 1:
        yield (total,)
        return
    for a in range(total, -1, -1):
        for rest in _multi(n - 1, total - a):
            yield (a,) + rest


def _binom(top: Fraction, m: int) -> Fraction:
    out = Fraction(1)
    for q in range(m):
        out = out * (top - q) / (q + 1)
    return out


def _gamma(i: tuple, j: tuple, d: int) -> Fraction:
    """gamma_ij = sum_{0 < k <= i} (-1)^|i-k| binom(i,k) binom(d k/|k|, j) (|k|/d)^|i|."""
    p, total = sum(i), Fraction(0)
    for k in itertools.product(*(range(a + 1) for a in i)):
        size = sum(k)
        if size == 0:
            continue
        term = Fraction((-1) ** (p - size) * math.prod(math.comb(a, b) for a, b in zip(i, k)))
        for kl, jl in zip(k, j):
            term *= _binom(Fraction(d * kl, size), jl)
        total += term * Fraction(size, d) ** p
    return total


def _scaled_error(got, want) -> float:
    got, want = np.asarray(got, float), np.asarray(want, float)
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


@pytest.mark.parametrize("n, d", [(2, 1), (2, 4), (3, 3), (4, 3), (2, 7)])
def test_gamma_recovers_every_monomial_exactly(n, d):
    # sum_j gamma_ij j^m = i! [i = m] for |i| = |m| = p <= d: so on any polynomial,
    # sum_j gamma_ij c_p(j) = D^i f, with c_p the normalised Taylor coefficient
    # f^(p)/p! along j (not the p-th derivative: that would be p!/i! too large)
    directions = list(_multi(n, d))
    for p in range(1, d + 1):
        for i in _multi(n, p):
            row = [_gamma(i, j, d) for j in directions]
            for m in _multi(n, p):
                got = sum(g * math.prod(Fraction(a) ** b for a, b in zip(j, m))
                          for g, j in zip(row, directions))
                assert got == (math.prod(map(math.factorial, i)) if m == i else 0)


@pytest.mark.parametrize("n, d", [(2, 5), (3, 4), (2, 12), (3, 6)])
def test_plan_gamma_is_the_exact_formula_rounded(n, d):
    plan = tensors.plan(n, d)
    assert sorted(map(tuple, plan.directions.tolist())) == sorted(_multi(n, d))
    for p, (entries, gamma) in enumerate(zip(plan.entries, plan.gammas), start=1):
        assert sorted(map(tuple, entries.tolist())) == sorted(_multi(n, p))
        for i, row in zip(entries.tolist(), gamma):
            want = [float(_gamma(tuple(i), tuple(j), d)) for j in plan.directions.tolist()]
            assert row.tolist() == pytest.approx(want, rel=1e-15, abs=1e-16)


def test_gamma_in_float64_agrees_with_the_exact_one():
    # many coordinates compute gamma in float64 (see tensors.MAX_EXACT_WORK)
    assert tensors._exact_work(5, 8) > tensors.MAX_EXACT_WORK
    plan = tensors.plan(5, 8)
    rows = [(8, 0), (8, 300), (7, 11), (5, 40), (3, 7)]  # (order, row) samples
    for p, r in rows:
        i = tuple(plan.entries[p - 1][r].tolist())
        want = [float(_gamma(i, tuple(j), 8)) for j in plan.directions.tolist()]
        assert np.max(np.abs(plan.gammas[p - 1][r] - want)) < 1e-14 * max(map(abs, want))


@pytest.mark.parametrize("n, d", [(2, 3), (3, 4), (4, 2)])
def test_plan_indices_point_each_entry_at_its_multi_index(n, d):
    plan = tensors.plan(n, d)
    for p in range(1, d + 1):
        index = plan.indices[p - 1]
        assert index.shape == (n,) * p
        for tup in itertools.product(range(n), repeat=p):
            counts = np.bincount(tup, minlength=n).tolist()
            assert plan.entries[p - 1][index[tup]].tolist() == counts


def _polynomial_partial(coeffs: dict, x0: list, i: tuple) -> Fraction:
    """D^i of sum c_m x^m at x0, exactly."""
    total = Fraction(0)
    for m, c in coeffs.items():
        if all(a >= b for a, b in zip(m, i)):
            term = Fraction(c)
            for a, b, x in zip(m, i, x0):
                term *= Fraction(math.factorial(a), math.factorial(a - b)) * x ** (a - b)
            total += term
    return total


def test_interpolation_is_exact_on_polynomials():
    # the plan's float gamma applied to exact Taylor coefficients of a polynomial
    rng = np.random.default_rng(12)
    n, d = 3, 6
    coeffs = {m: int(rng.integers(-9, 10)) for p in range(d + 1) for m in _multi(n, p)}
    x0 = [Fraction(1, 2), Fraction(-3, 4), Fraction(2)]
    t = sp.Symbol("t")
    plan = tensors.plan(n, d)
    series = []
    for j in plan.directions.tolist():
        point = [x + t * a for x, a in zip(x0, j)]
        poly = sp.Poly(sum(c * math.prod(v ** e for v, e in zip(point, m))
                           for m, c in coeffs.items()), t)
        series.append([Fraction(int(q.p), int(q.q)) for q in reversed(poly.all_coeffs())]
                      + [Fraction(0)] * (d + 1))
    for p in range(1, d + 1):
        c = np.array([float(s[p]) for s in series])
        got = plan.gammas[p - 1] @ c
        want = [float(_polynomial_partial(coeffs, x0, tuple(i)))
                for i in plan.entries[p - 1].tolist()]
        assert _scaled_error(got, want) < 1e-13


# ---------------------------------------------------------------- choices and limits

def test_low_orders_keep_nested_jacfwd_and_high_orders_interpolate():
    assert not tensors.interpolate(2, 1, 4)
    assert not tensors.interpolate(2, tensors.NESTED_UP_TO, 4)
    assert tensors.interpolate(2, tensors.NESTED_UP_TO + 1, 4)
    assert tensors.interpolate(3, 12, 5)
    # Taylor recurrences too slow to compile: nested jacfwd, within its limit
    assert not tensors.interpolate(2, 5, 60, work=121)
    # past nested jacfwd's limit at order 2 (2,300 x 3^2 > 20,000): interpolation
    assert tensors.interpolate(2, 2, 2300)
    with pytest.raises(InputError, match="--order 2: .* over the limit"):
        tensors.interpolate(2, 2, 5000)


def test_nested_cost_model():
    assert tensors.nested_cost(8, 4) == 4 * 3 ** 8
    tensors.check_nested(2, 1, 20_000)  # order 1 is one grad
    with pytest.raises(ValueError, match=r"4 nodes x 3\^10 = 236,196 operations"):
        tensors.check_nested(2, 10, 4)


def test_refusals_name_the_limit():
    with pytest.raises(ValueError, match="1,048,576 entries"):
        tensors.check(2, 20, 1)
    with pytest.raises(ValueError, match=r"1,000 x \(12 \+ 3\) = 15,000 to compile"):
        tensors.check(3, 12, 1_000)
    with pytest.raises(ValueError, match="Taylor directions"):
        tensors.check(3, 12, 100, length=100)
    with pytest.raises(ValueError, match="-entry matrix, over the limit"):
        tensors.check(10, 6, 1)


# ---------------------------------------------------------------- against sympy

X, Y = sp.symbols("x y")
Z = sp.symbols("z0:3")
R = sp.Rational


def _oracle(f, symbols, subs, order):
    """The tensors of orders 1..order, each distinct partial from sympy at 40 digits."""
    n, out, memo = len(symbols), [], {(): f}
    for p in range(1, order + 1):
        tensor = np.zeros((n,) * p)
        values = {}
        for tup in itertools.combinations_with_replacement(range(n), p):
            memo[tup] = sp.diff(memo[tup[:-1]], symbols[tup[-1]])
            values[tup] = float(memo[tup].evalf(40, subs=subs))
        for index in np.ndindex(*tensor.shape):
            tensor[index] = values[tuple(sorted(index))]
        out.append(tensor)
    return out


CASES = [  # (text, at, wrt, order, sympy expression, its coordinates, point, tolerance)
    ("sin(x*y)", "x=0.5,y=2", None, 12, sp.sin(X * Y), [X, Y], {X: R(1, 2), Y: 2}, 1e-11),
    ("sin(prod(z))", "z=[1,2,3]", None, 10, sp.sin(Z[0] * Z[1] * Z[2]), list(Z),
     {Z[0]: 1, Z[1]: 2, Z[2]: 3}, 1e-11),
    ("exp(x/y)*log(1+x*y)", "x=0.5,y=2", None, 6, sp.exp(X / Y) * sp.log(1 + X * Y), [X, Y],
     {X: R(1, 2), Y: 2}, 1e-12),
    ("exp(z[0]/(1+z[1]**2))*log(x+z[2])", "x=1.5,z=[0.3,-0.7,0.25]", ["z[1]", "x", "z[0]"], 5,
     sp.exp(Z[0] / (1 + Z[1] ** 2)) * sp.log(X + Z[2]), [Z[1], X, Z[0]],
     {X: R(3, 2), Z[0]: R(3, 10), Z[1]: R(-7, 10), Z[2]: R(1, 4)}, 1e-12),
    ("x*diff(x**2*y**3, y) + sin(x)", "x=0.7,y=-1.3", None, 5,
     X * sp.diff(X ** 2 * Y ** 3, Y) + sp.sin(X), [X, Y], {X: R(7, 10), Y: R(-13, 10)}, 1e-12),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_grad_tensors_agree_with_sympy(case):
    text, at, wrt, order, f, symbols, subs, tolerance = case
    result = autodx.grad(text, order=order, at=at, wrt=wrt)
    assert result.value == pytest.approx(float(f.evalf(40, subs=subs)), rel=1e-14)
    for p, want in enumerate(_oracle(f, symbols, subs, order), start=1):
        assert _scaled_error(result.derivatives[p], want) < tolerance, p


def test_past_order_12_the_loss_of_digits_is_said_and_bounded():
    run = cli("grad", "sin(x*y)", "--order", "16", "--at", "x=0.5,y=2", "--format", "json")
    assert run.code == 0 and "loses digits past order 12: measured against sympy" in run.stderr
    doc = run.json()
    assert [w for w in doc["warnings"] if "17 directions" in w and "4e-10" in w]
    want = _oracle(sp.sin(X * Y), [X, Y], {X: R(1, 2), Y: 2}, 16)
    for p in (4, 12, 14, 16):
        got = np.array(doc["results"][0]["derivatives"][str(p)], dtype=float)
        assert _scaled_error(got, want[p - 1]) < 4e-10, p
    f32 = cli("grad", "sin(x*y)", "--order", "7", "--at", "x=0.5,y=2", "--precision", "32")
    assert f32.code == 0 and "past order 6: at --precision 32" in f32.stderr
    for args in (["sin(x*y)", "--order", "12", "--at", "x=0.5,y=2"],
                 ["sin(x)", "--order", "30", "--at", "x=0.5"]):
        quiet = cli("grad", *args, "--format", "json")
        assert quiet.code == 0 and "loses digits" not in quiet.stdout + quiet.stderr


def test_every_row_of_data_is_interpolated():
    xs, ys = [0.5, -1.25, 2.0], [2.0, 0.75, -0.5]
    rows = autodx.grad("sin(x*y) + x/y", order=5, data={"x": xs, "y": ys})
    f = sp.sin(X * Y) + X / Y
    for r, (x, y) in enumerate(zip(xs, ys)):
        want = _oracle(f, [X, Y], {X: R(str(x)), Y: R(str(y))}, 5)
        for p in range(1, 6):
            assert _scaled_error(rows.derivatives[p][r], want[p - 1]) < 1e-12


def test_float32_tensors():
    result = autodx.grad("sin(x*y)", order=6, at="x=0.5,y=2", precision=32)
    want = _oracle(sp.sin(X * Y), [X, Y], {X: R(1, 2), Y: 2}, 6)
    for p in range(1, 7):
        assert _scaled_error(result.derivatives[p], want[p - 1]) < 1e-4


def test_without_a_taylor_rule_nested_jacfwd_answers(monkeypatch):
    from autodx.taylor import NoRule

    def no_rule(*args):
        def run(env):
            raise NoRule("no rule, for the test")
        return run
    monkeypatch.setattr(tensors, "derivatives", no_rule)
    result = autodx.grad("exp(x/y)", order=4, at="x=0.5,y=2")
    for p, want in enumerate(_oracle(sp.exp(X / Y), [X, Y], {X: R(1, 2), Y: 2}, 4), start=1):
        assert _scaled_error(result.derivatives[p], want) < 1e-14
    # past nested jacfwd's limit the fallback refuses, naming it
    with pytest.raises(InputError, match="nested forward mode"):
        autodx.grad("exp(x/y)*sin(x+y)*cos(x-y)", order=8, at="x=0.5,y=2")


def test_singular_directions_leave_the_other_entries_finite():
    # sqrt(x) + y at x = 0: every direction that moves x is singular; d/dy and its
    # powers do not enter them (nested jacfwd gives them as 1 and 0 too)
    d = autodx.grad("sqrt(x) + y", order=4, at="x=0,y=2").derivatives
    assert d[1][1] == 1.0
    assert d[2][1, 1] == d[3][1, 1, 1] == d[4][1, 1, 1, 1] == 0.0


# ---------------------------------------------------------------- the command line

def test_cli_json_tensors_are_exactly_symmetric_and_right():
    run = cli("grad", "sin(x*y*z)", "--at", "x=0.5,y=2,z=-1", "--order", "6",
              "--format", "json")
    derivatives = run.json()["results"][0]["derivatives"]
    f = sp.sin(X * Y * Z[0])
    want = _oracle(f, [X, Y, Z[0]], {X: R(1, 2), Y: 2, Z[0]: -1}, 6)
    for p in range(1, 7):
        tensor = np.array(derivatives[str(p)])
        for a in range(p - 1):  # adjacent swaps generate every permutation
            swap = list(range(p))
            swap[a], swap[a + 1] = a + 1, a
            assert np.array_equal(tensor, tensor.transpose(swap))
        assert _scaled_error(tensor, want[p - 1]) < 1e-12


def test_cli_high_order_answers():
    run = cli("grad", "sin(x*y)", "--at", "x=0.5,y=2", "--order", "12", "--format", "plain",
              "--digits", "17")
    lines = run.stdout.splitlines()
    assert run.code == 0 and len(lines) == 12  # one order a line
    top = np.array(lines[-1].split(), float).reshape((2,) * 12)
    # d12/dx^6 dy^6 of sin(x*y), from sympy
    want = float(sp.diff(sp.sin(X * Y), X, 6, Y, 6).evalf(40, subs={X: R(1, 2), Y: 2}))
    assert top[(0,) * 6 + (1,) * 6] == pytest.approx(want, rel=1e-10)


def test_cli_refuses_what_neither_method_can_do():
    text = "+".join(f"sin(z[{i}]*z[{i + 1}])" for i in range(9))
    run = cli("grad", text, "--at", "z=[1,2,3,4,5,6,7,8,9,10]", "--order", "6")
    assert_user_error(run, "--order 6", "over the limit", "jvp-partial", "--wrt")


def test_cli_refuses_a_long_vector_moved_by_every_direction():
    at = "z=[" + ",".join(["0.5"] * 3000) + "]"
    run = cli("grad", "sin(sum(z))*z[0]", "--at", at, "--wrt", "z[0],z[1],z[2]",
              "--order", "12")
    assert_user_error(run, "--order 12", "3,000 entries", "over the limit")
