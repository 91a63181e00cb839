"""Any input answers or refuses quickly: the cost of a tree is measured before tracing.

Each case ran for minutes or gigabytes before the cost measures (issue 12, "Limits").
Oracles: sympy's derivatives, and closed forms.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from conftest import assert_user_error, cli

from autodx import analyze, parse


def _chain(n: int) -> list[str]:
    """n helpers, each calling the next twice: the expanded tree has 2^n leaves."""
    defs = [f"f{i}(u) = f{i + 1}(u) * f{i + 1}(u + 1)" for i in range(1, n)]
    return defs + [f"f{n}(u) = sin(u)"]


def test_measure_expands_helpers_without_building_the_tree():
    tree, helpers, info = parse.parse_expression("x", ())
    helpers = {h.name: h for h in map(parse.parse_def, _chain(40))}
    cost = analyze.measure(parse.parse("f1(x)"), helpers)
    assert cost.size > 2 ** 40 and cost.loops == 2 ** 39


@pytest.mark.parametrize("n", [13, 40])
def test_chained_helpers_are_refused_by_their_expanded_size(n):
    # 40: the meaning checks walk each helper's body once, not once per call (2^40)
    args = ["grad", "f1(x)", "--at", "0.5"]
    for d in _chain(n):
        args += ["--def", d]
    assert_user_error(cli(*args), "expands to", "over the limit of 20,000")


def test_a_small_chain_still_answers():
    args = ["grad", "f1(x)", "--at", "0.5", "--format", "json"]
    for d in _chain(3):
        args += ["--def", d]
    u = 0.5
    expected = math.sin(u) * math.sin(u + 1) * math.sin(u + 1) * math.sin(u + 2)
    assert cli(*args).json()["results"][0]["value"] == pytest.approx(expected, rel=1e-13)


def test_nested_diff_is_taylor_mode_not_nested_forward_mode():
    # three diffs of order 5 were 2^15 nested jvps (over a minute, then refused): each
    # diff is now n! c_n of a Taylor series, a program the size of e at any n
    run = cli("grad", "diff(diff(diff(sin(x),x,5),x,5),x,5)", "--at", "0.5", "--order", "3",
              "--format", "json")
    d = _derivatives(run)
    for k in range(1, 4):  # d^k/dx^k sin^(15)(x) = sin(x + (15 + k) pi/2)
        assert d[k] == pytest.approx(math.sin(0.5 + (15 + k) * math.pi / 2), rel=1e-12)


@pytest.mark.parametrize("command", [["grad", "--wrt", "x", "--order", "2"], ["hessian"],
                                     ["jacobian"], ["jvp-partial", "--indices", "0,1,1"]])
def test_diff_in_two_variables_is_exact_in_every_command(command):
    # the x-derivative of order 10 takes Taylor mode, and inside it the y-derivative
    # forward mode of the series: once 3^10 nested jvps, minutes and gigabytes
    x, y = sp.symbols("x y")
    f = sp.diff(sp.sin(x * y), y, 3, x, 10)
    text = "diff(diff(sin(x*y), y, 3), x, 10)"
    run = cli(command[0], f"[{text}]" if command[0] == "jacobian" else text,
              *command[1:], "--at", "x=0.5,y=1", "--format", "json")
    doc = run.json()["results"][0]
    at = {x: sp.Rational(1, 2), y: 1}
    if command[0] == "grad":
        got, want = doc["derivatives"]["2"], sp.diff(f, x, 2)
    elif command[0] == "hessian":
        got, want = doc["hessian"][0][1], sp.diff(f, x, y)
    elif command[0] == "jacobian":
        got, want = doc["jacobian"][0][1], sp.diff(f, y)
    else:
        got, want = doc["partial"], sp.diff(f, x, y, y)
    assert got == pytest.approx(float(want.subs(at).evalf(30)), rel=1e-10)


def test_nested_forward_mode_past_the_limit_is_refused_before_tracing():
    # a diff in y of order 10 inside Taylor mode in x: y-derivatives are nested jvps
    run = cli("grad", "diff(diff(exp(x*y)*sin(y), y, 10), x, 2)", "--wrt", "x", "--at",
              "x=0.5,y=1")
    assert_user_error(run, "needs nested forward mode", "x 3^10", "over the limit of 20,000")


def _derivatives(run) -> dict:
    return {int(k): v for k, v in run.json()["results"][0]["derivatives"].items()}


def test_diff_along_the_taylor_variable_is_a_shifted_series():
    # d^k/dx^k of diff(sin(x), x, 10) is sin^(10 + k)(x) = sin(x + (10 + k) pi/2)
    d = _derivatives(cli("grad", "diff(sin(x),x,10)", "--order", "20", "--at", "0.5",
                         "--format", "json"))
    for k in range(1, 21):
        assert d[k] == pytest.approx(math.sin(0.5 + (10 + k) * math.pi / 2), rel=1e-12, abs=1e-13)


def test_diff_in_another_variable_inside_taylor_mode_stays_exact():
    x, y = sp.symbols("x y")
    f = sp.diff(sp.sin(x * y) * x, y, 2) * sp.exp(x)
    d = _derivatives(cli("grad", "diff(sin(x*y)*x, y, 2)*exp(x)", "--wrt", "x", "--order", "4",
                         "--at", "x=0.3,y=0.7", "--format", "json"))
    for k in range(1, 5):
        want = float(sp.diff(f, x, k).subs({x: 0.3, y: 0.7}))
        assert d[k] == pytest.approx(want, rel=1e-10)


def test_diff_holding_a_moving_parameter_falls_back_exactly():
    # h(u) = diff(u*x, x): u is held fixed, though it moves with x: d/dx = u = x
    d = _derivatives(cli("grad", "h(x)", "--def", "h(u) = diff(u*x**2, x)", "--order", "2",
                         "--at", "0.5", "--format", "json"))
    assert d[1] == pytest.approx(4 * 0.5) and d[2] == pytest.approx(4.0)


def test_too_many_taylor_recurrences_are_refused():
    # 199 nested sin: 13 s of compiling before, one fori_loop per sin
    run = cli("grad", "sin(" * 199 + "x" + ")" * 199, "--order", "3", "--at", "0.5")
    assert_user_error(run, "--order 3", "Taylor-mode recurrences", "over the limit")


def _nested(name: str, n: int) -> str:
    return f"{name}(" * n + "x" + ")" * n


@pytest.mark.parametrize("name, n", [("tanh", 21), ("asinh", 41), ("sin", 61)])
def test_taylor_recurrences_are_weighed_by_what_they_cost_to_compile(name, n):
    # counted as one loop each, 60 nested tanh (three loops a call) took 16 s and 60
    # nested asinh (one loop, and products) 14 s: each function weighs what it costs
    assert analyze.measure(parse.parse(_nested(name, n - 1)), {}).work <= 120
    run = cli("grad", _nested(name, n), "--order", "5", "--at", "0.5")
    assert_user_error(run, "--order 5", "units of compile time", "over the limit of 120")


def _traced_loops(text: str) -> int:
    import jax
    from jax.extend.core import jaxprs_in_params

    from autodx import taylor

    def count(jaxpr) -> int:
        return sum(int(e.primitive.name in ("while", "scan")) +
                   sum(count(sub) for sub in jaxprs_in_params(e.params)) for e in jaxpr.eqns)
    tree = parse.parse(text)
    return count(jax.make_jaxpr(lambda x: taylor.taylor_coefficients(
        tree, {}, {"x": x}, "x", 6))(0.7).jaxpr)


def test_the_loop_table_is_what_taylor_mode_traces():
    from autodx.registry import FUNCTIONS
    from autodx.registry.core import Missing

    texts = [f"{name}({', '.join(['x'] + [f'x/{i + 2}' for i in range(max(f.arity[0], 1) - 1)])})"
             for name, f in sorted(FUNCTIONS.items())
             if not isinstance(f.taylor, Missing) and not f.vector and name != "Piecewise"]
    texts += ["Piecewise((sin(x), x > 0), (x, True))", "x/(1+x)", "x/2", "x**3", "x**1025",
              "x**0.5", "x**-2", "x**x", "2**x"]
    wrong = [(t, _traced_loops(t), analyze.measure(parse.parse(t), {}).loops) for t in texts]
    assert [w for w in wrong if w[1] != w[2]] == []
    assert set(analyze.LOOPS) | set(analyze.WEIGHTS) <= set(FUNCTIONS)


def test_tensor_orders_count_in_the_cost():
    # order 12 over three variables is Taylor interpolation now (was minutes of nested
    # jacfwd, then refused); order 13 is past the tensor's entries
    run = cli("grad", "sin(x*y*z)", "--order", "13", "--at", "x=1,y=2,z=3")
    assert_user_error(run, "--order 13", "1,594,323 entries", "jvp-partial", "--wrt")
    x, y, z = sp.symbols("x y z")
    doc = cli("grad", "sin(x*y*z)", "--order", "12", "--at", "x=1,y=2,z=3",
              "--format", "json").json()
    t = np.asarray(doc["results"][0]["derivatives"]["12"])
    assert t.shape == (3,) * 12
    at = {x: 1, y: 2, z: 3}
    f = sp.sin(x * y * z)
    for index in [(0,) * 12, (0,) * 4 + (1,) * 4 + (2,) * 4, (2, 1) * 6, (1,) * 11 + (2,)]:
        symbols = [[x, y, z][i] for i in index]
        want = float(sp.diff(f, *symbols).subs(at).evalf(40))
        assert t[index] == pytest.approx(want, rel=1e-10, abs=1e-10 * np.abs(t).max())


X = [0.9, 1.1, 0.7, 1.3, 0.6, 1.2]


def _sympy_partial(expr, symbols, indices, at):
    d = expr
    for i in indices:
        d = sp.diff(d, symbols[i])
    return float(d.subs(dict(zip(symbols, at))))


@pytest.mark.parametrize("text, indices", [
    ("sin(prod(x))", [0, 1, 2, 3, 4, 5]),
    ("sin(prod(x))", [0, 0, 1, 1, 2]),
    ("exp(x[0]*x[1]) / (1 + x[2]**2) + sqrt(x[3]) * log(x[4])", [0, 1, 1, 2, 3, 4]),
    ("tanh(dot(x, x)) * x[5]**3", [5, 5, 0, 1]),
    ("norm(x) ** 2.5", [0, 1, 2]),
])
def test_jvp_partial_in_nilpotent_arithmetic_matches_sympy(text, indices):
    xs = sp.symbols("x0:6")
    v = sp.Matrix(xs)
    expr = {
        "sin(prod(x))": sp.sin(sp.prod(xs)),
        "exp(x[0]*x[1]) / (1 + x[2]**2) + sqrt(x[3]) * log(x[4])":
            sp.exp(xs[0] * xs[1]) / (1 + xs[2] ** 2) + sp.sqrt(xs[3]) * sp.log(xs[4]),
        "tanh(dot(x, x)) * x[5]**3": sp.tanh(v.dot(v)) * xs[5] ** 3,
        "norm(x) ** 2.5": sp.sqrt(v.dot(v)) ** sp.Rational(5, 2),
    }[text]
    run = cli("jvp-partial", text, "--indices", ",".join(map(str, indices)),
              "--at", f"x=[{','.join(map(str, X))}]", "--format", "json")
    got = run.json()["results"][0]["partial"]
    assert got == pytest.approx(_sympy_partial(expr, xs, indices, X), rel=1e-10)


def test_jvp_partial_with_helpers_scalars_and_stop_gradient():
    x, y = sp.symbols("x y")
    expr = (x * y - 1) ** 2 * sp.sin(y) + x ** 3  # stop_gradient(x*y) contributes 0
    run = cli("jvp-partial", "L(x) * sin(y) + x**3 + stop_gradient(x*y)**2",
              "--def", "L(u) = (u*y - 1)**2", "--indices", "x,y,y", "--at", "x=0.4,y=1.3",
              "--format", "json")
    want = float(sp.diff(expr, x, y, y).subs({x: 0.4, y: 1.3}))
    assert run.json()["results"][0]["partial"] == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize("expr, indices", [
    ("max(x,y)*sin(x*y)", "x,y,x,y,x,y,x,y,x,y"),  # 30 s before, allowed at 9 x 2^10
    ("diff(sin(x*y),x,10)", "x,y,x,y,x,y,x,y,x,y,x,y,x,y"),  # minutes: nested jvps of a diff
])
def test_nested_forward_mode_of_jvp_partial_is_bounded_by_3_to_the_k(expr, indices):
    run = cli("jvp-partial", expr, "--at", "x=0.5,y=2", "--indices", indices)
    assert_user_error(run, "by nested forward mode", "x 3^", "over the limit of 20,000")


def test_nested_forward_mode_of_jvp_partial_within_the_bound_is_exact():
    x, y = sp.symbols("x y")
    run = cli("jvp-partial", "max(x,y)*sin(x*y)", "--at", "x=0.5,y=2", "--indices", "x,y,x,y",
              "--format", "json")
    want = sp.diff(y * sp.sin(x * y), x, y, x, y).subs({x: sp.Rational(1, 2), y: 2})
    assert run.json()["results"][0]["partial"] == pytest.approx(float(want.evalf(30)),
                                                                  rel=1e-12)


@pytest.mark.parametrize("indices", ["\u00b9", "0,\u0663", "x," + "q" * 5000])
def test_indices_that_are_not_ascii_digits_nor_coordinates_are_refused(indices):
    # "¹".isdigit() is True and int("¹") raises: the fuzzer's indices surface found exit 1
    run = cli("jvp-partial", "sin(x*y)", "--indices", indices, "--at", "x=0.5,y=2")
    assert_user_error(run, "is not a coordinate")
    assert len(run.stderr) < 300


@pytest.mark.parametrize("args, fragment", [
    (["hessian", _nested("tanh", 21) + "*y", "--at", "x=0.5,y=1"], "hessian: "),
    (["grad", _nested("tanh", 7) + "*y", "--order", "3", "--at", "x=0.5,y=1"], "--order 3: "),
    (["jacobian", f"[{_nested('tanh', 61)}, x]", "--at", "x=0.5"], "jacobian: "),
    # max: no rule in nilpotent arithmetic, so nested jvps (42 units x 3^2)
    (["jvp-partial", "max(x, y)*" + _nested("tanh", 7), "--indices", "0,0,1", "--at",
      "x=0.5,y=1"], "jvp-partial with 3 indices: "),
])
def test_jax_modes_are_bounded_by_what_the_functions_cost_to_compile(args, fragment):
    # the hessian of 60 nested tanh took 45 s and 4.3 GB to compile, grad --order 3 of
    # 20 nested tanh (times y) 19 s: work x 3^(order - 1) <= 360
    assert_user_error(cli(*args), fragment, "units of compile time", "over the limit of 360")


def test_perex_is_bounded_by_what_the_functions_cost_to_compile(tmp_cwd):
    # and every refusal before the work closes the data file (an unclosed file is a
    # ResourceWarning, an error in this suite)
    (tmp_cwd / "d.csv").write_text("x,y\n0.5,1\n1.5,2\n")
    run = cli("perex", _nested("tanh", 61) + "*w", "--wrt", "w", "--at", "w=1", "--data", "d.csv")
    assert_user_error(run, "perex: ", "366", "over the limit of 360")
    for args in (["grad", _nested("sin", 61), "--order", "3"],
                 ["hessian", _nested("tanh", 21) + "*y"],
                 ["jacobian", f"[{_nested('tanh', 61)}, y]"],
                 ["jvp-partial", _nested("sin", 61), "--indices", "0,0"]):
        assert_user_error(cli(*args, "--data", "d.csv"), "over the limit of")


def test_jvp_partial_in_nilpotent_arithmetic_is_bounded_like_taylor_mode():
    # 199 nested sin with 4 indices took 48 s
    run = cli("jvp-partial", _nested("sin", 61), "--indices", "0,0", "--at", "x=0.5")
    assert_user_error(run, "jvp-partial with 2 indices: ", "122 units", "over the limit of 120")


def test_at_the_bound_jax_modes_answer_exactly():
    x, y = sp.symbols("x y")
    f = x * y
    for _ in range(6):
        f = sp.tanh(f)
    text = "x*y"
    for _ in range(6):
        text = f"tanh({text})"  # 36 units x 3^2 = 324
    doc = cli("grad", text, "--order", "3", "--at", "x=0.5,y=1", "--format", "json").json()
    want = float(sp.diff(f, x, 2, y).subs({x: sp.Rational(1, 2), y: 1}).evalf(30))
    assert doc["results"][0]["derivatives"]["3"][0][0][1] == pytest.approx(want, rel=1e-12)


def test_products_of_series_weigh_in_taylor_mode():
    # a sum of 60 calls of a helper that multiplies 100 factors weighed 0 (78 s and 1.9
    # GB to compile); x**1023 is 18 products by squaring
    helper = "H(u) = " + "*".join(["u"] * 100)
    text = "+".join(f"H(x+{i})" for i in range(60))
    tree, helpers = parse.parse(text), {"H": parse.parse_def(helper)}
    assert analyze.measure(tree, helpers).products == 60 * 99
    assert analyze.measure(parse.parse("x**1023 + 2*x*pi + x*y"), {}).products == 18 + 1
    run = cli("grad", text, "--def", helper, "--order", "10", "--at", "0.5")
    assert_user_error(run, "--order 10", "weigh 1,980 units", "a product of two series 1/3")


def test_jvp_partial_weighs_its_indices_too():
    # 60 nested sin (120 units) with 16 indices took 96 s
    run = cli("jvp-partial", _nested("sin", 15), "--indices", ",".join(["0"] * 16),
              "--at", "x=0.5")
    assert_user_error(run, "jvp-partial with 16 indices: ", "times 16 indices: 480",
                      "over the limit of 160")
    one = cli("jvp-partial", _nested("sin", 61), "--indices", "0", "--at", "x=0.5")
    assert_user_error(one, "jvp-partial with 1 index: ", "over the limit of 120")


def test_past_the_taylor_bound_low_orders_take_jax_modes():
    # 25 nested tanh weigh 150 units, over Taylor mode's 120: the gradient by jax.grad
    u, slope = 0.5, 1.0
    for _ in range(25):  # the chain rule, by hand
        u = math.tanh(u)
        slope *= 1 - u * u
    doc = cli("grad", _nested("tanh", 25), "--at", "x=0.5", "--format", "json").json()
    assert doc["results"][0]["value"] == pytest.approx(u, rel=1e-14)
    assert doc["results"][0]["derivatives"]["1"] == pytest.approx(slope, rel=1e-13)
    run = cli("grad", _nested("tanh", 25), "--order", "2", "--at", "x=0.5")
    assert_user_error(run, "--order 2: ", "times 3^1", "over the limit of 360")
    assert_user_error(cli("grad", _nested("tanh", 25), "--order", "3", "--at", "x=0.5"),
                      "--order 3: ", "Taylor-mode recurrences", "over the limit of 120")
