"""--symbolic and --check through the CLI, and the references behind them.

Oracles: closed forms, and sympy expressions built here by hand (tests/oracle.py), never
autodx's own translation.
"""
from __future__ import annotations

import json
import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import assert_user_error, cli
from oracle import X, Y

from autodx.check import references as symbolic, replies, verdict as trust


def _same(text: str, want: sp.Expr, symbols: dict) -> bool:
    """autodx's symbolic text equals ``want``: read back with sympy (our own output, in a
    test) and compared by simplifying the difference."""
    got = sp.parse_expr(text.replace("[", "_").replace("]", ""), local_dict=symbols)
    return sp.simplify(got - want) == 0


def _checks(doc) -> list[dict]:
    return [c for item in doc["results"] for c in item["check"]]


# ---------------------------------------------------------------- --symbolic

def test_symbolic_derivatives_of_the_headline_example_in_json():
    doc = cli("grad", "x**3+2*x**2-3*x+1", "--order", "3", "--at", "1", "--symbolic",
              "--format", "json").json()
    f = X ** 3 + 2 * X ** 2 - 3 * X + 1
    sym = doc["symbolic"]
    assert _same(sym["value"], f, {"x": X})
    for k in (1, 2, 3):
        assert _same(sym["derivatives"][str(k)], sp.diff(f, X, k), {"x": X})
    assert doc["results"][0]["derivatives"] == {"1": 4.0, "2": 10.0, "3": 6.0}


def test_symbolic_tensor_of_a_vector_expression_is_a_nested_list():
    doc = cli("grad", "x*z[0]**2 + sin(z[1])", "--order", "2", "--at", "x=1,z=[2,3]",
              "--symbolic", "--format", "json").json()
    z0, z1 = sp.symbols("z_0 z_1", real=True)
    names = {"x": X, "z_0": z0, "z_1": z1}
    f = X * z0 ** 2 + sp.sin(z1)
    coords = [X, z0, z1]
    hess = doc["symbolic"]["derivatives"]["2"]
    assert len(hess) == 3 and all(len(row) == 3 for row in hess)
    for i in range(3):
        assert _same(doc["symbolic"]["derivatives"]["1"][i], sp.diff(f, coords[i]), names)
        for j in range(3):
            assert _same(hess[i][j], sp.diff(f, coords[i], coords[j]), names)


def test_symbolic_column_in_the_table():
    run = cli("grad", "sin(x)**2", "--at", "0.5", "--symbolic")
    assert run.code == 0, run
    assert "symbolic" in run.stdout
    assert "2*sin(x)*cos(x)" in run.stdout


def test_symbolic_hessian_hvp_and_jvp_partial():
    h = cli("hessian", "x**2*y + y**3", "--at", "x=1,y=2", "--symbolic",
            "--format", "json").json()
    f = X ** 2 * Y + Y ** 3
    names = {"x": X, "y": Y}
    for i, a in enumerate((X, Y)):
        for j, b in enumerate((X, Y)):
            assert _same(h["symbolic"]["hessian"][i][j], sp.diff(f, a, b), names)
    hv = cli("hessian", "x**2*y + y**3", "--at", "x=1,y=2", "--hvp", "[1,2]", "--symbolic",
             "--format", "json").json()
    for i, a in enumerate((X, Y)):
        want = sp.diff(f, a, X) + 2 * sp.diff(f, a, Y)
        assert _same(hv["symbolic"]["hvp"][i], want, names)
    j = cli("jvp-partial", "x**2*y**3", "--indices", "x,y,y", "--at", "x=1,y=2",
            "--symbolic", "--format", "json").json()
    assert _same(j["symbolic"]["partial"], sp.diff(X ** 2 * Y ** 3, X, Y, Y), names)
    assert _same(j["symbolic"]["value"], X ** 2 * Y ** 3, names)  # "value" is f everywhere
    assert j["results"][0]["partial"] == 24.0 and j["results"][0]["value"] == 8.0  # 12 x y


def test_symbolic_follows_helpers_diff_and_stop_gradient():
    # the meta-gradient seed: L(w - 0.1 L'(w)), and stop_gradient as a zero derivative
    doc = cli("grad", "L(w - 0.1*diff(L(w), w)) + stop_gradient(w)*w", "--def",
              "L(u) = (u*a - 1)**2", "--wrt", "w", "--at", "w=0.3,a=2", "--symbolic",
              "--check", "--format", "json").json()
    w, a = sp.symbols("w a", real=True)
    L = lambda u: (u * a - 1) ** 2  # noqa: E731
    inner = w - sp.Rational(1, 10) * sp.diff(L(w), w)
    want = sp.diff(L(inner), w) + w  # d/dw of stop_gradient(w)*w is stop_gradient(w) = w
    assert _same(doc["symbolic"]["derivatives"]["1"].replace("stop_gradient", ""), want,
                 {"w": w, "a": a})
    checks = _checks(doc)
    assert [c["verdict"] for c in checks] == ["ok", "ok"]
    assert "stop_gradient" in checks[1]["why"] and checks[1]["fd"] is None
    value = float(want.subs({w: 0.3, a: 2}))
    assert math.isclose(doc["results"][0]["derivatives"]["1"], value, rel_tol=1e-12)


def test_symbolic_needs_a_text_format(tmp_cwd):
    assert_user_error(cli("grad", "x**2", "--at", "1", "--symbolic", "--format", "csv"),
                      "--symbolic")
    assert_user_error(cli("grad", "x**2", "--at", "1", "--symbolic", "--out", "d.npy"),
                      "--symbolic")
    assert not (tmp_cwd / "d.npy").exists()
    assert_user_error(cli("grad", "x**2", "--at", "1", "--symbolic",
                          "--symbolic-timeout", "0"), "--symbolic-timeout")
    for seconds in ("1e308", "inf", "nan"):  # beyond what the OS timers take
        assert_user_error(cli("grad", "x**2", "--at", "1", "--symbolic",
                              "--symbolic-timeout", seconds), "--symbolic-timeout")


def test_sympy_time_limit_still_prints_the_numbers():
    # 40 derivatives of this composition take sympy minutes; autodx's Taylor mode not
    run = cli("grad", "exp(sin(x)*cos(x)*tan(x))/(1 + x**2)", "--order", "40", "--at",
              "0.3", "--symbolic", "--symbolic-timeout", "0.5", "--format", "json")
    doc = run.json()
    assert doc["symbolic"] is None
    assert any("--symbolic-timeout" in w for w in doc["warnings"])
    assert "warning: sympy did not finish within 0.5 s" in run.stderr
    assert len(doc["results"][0]["derivatives"]) == 40


def test_huge_constant_powers_do_not_stall_sympy():
    doc = cli("grad", "9**9**9**9*x", "--at", "1", "--symbolic", "--check",
              "--format", "json").json()
    assert doc["symbolic"]["derivatives"]["1"] == "9**(9**387420489)"
    assert {c["verdict"] for c in _checks(doc)} == {"not checkable"}


# ---------------------------------------------------------------- --check

def test_check_of_the_headline_example():
    run = cli("grad", "x**3+2*x**2-3*x+1", "--order", "3", "--at", "1", "--check",
              "--format", "json")
    doc = run.json()
    checks = _checks(doc)
    assert [c["entry"] for c in checks] == ["f", "df/dx", "d2f/dx^2", "d3f/dx^3"]
    assert [c["exact"] for c in checks] == [1.0, 4.0, 10.0, 6.0]
    for c in checks[1:]:
        assert c["verdict"] == "ok" and c["why"] is None
        assert abs(c["fd"] - c["exact"]) <= c["fd_bound"] + 1e-12
        assert c["fd_bound"] < 1e-20
    assert doc["check"] == {"relative_tolerance": 1e-8, "absolute_tolerance": 1e-12,
                            "ok": 4, "disagrees": 0, "not_checkable": 0, "within_noise": 0}
    assert "check: 4 of 4 numbers ok" in run.stderr


@pytest.mark.parametrize("args", [
    ["grad", "sin(x)*exp(x)", "--order", "50", "--at", "0.5"],
    ["grad", "x*y**2 + atan2(y, x) + erf(x*y)", "--order", "3", "--at", "x=0.7,y=-0.4"],
    ["hessian", "dot(z, z)*norm(z) + prod(z)", "--at", "[1,2,3]"],
    ["hessian", "sum(exp(z))*z[0]", "--at", "[0.1,0.2,0.3]", "--hvp", "[1,-1,2]"],
    ["jvp-partial", "prod(sin(z))", "--indices", "0,1,1,2", "--at", "[0.3,0.4,0.5]"],
    ["grad", "log(x + 1, 3) + cbrt(x) + sigmoid(x) + acosh(x + 2)", "--order", "4", "--at",
     "-0.8"],
    ["grad", "x**2 + y", "--order", "2", "--at", "x=1,y=2", "--precision", "32"],
])
def test_check_passes_on_smooth_points(args):
    run = cli(*args, "--check", "--format", "json")
    doc = run.json()
    verdicts = {c["verdict"] for c in _checks(doc)}
    assert verdicts == {"ok"}, _checks(doc)
    # both references were used for every derivative
    assert all(c["fd"] is not None for c in _checks(doc) if c["entry"] != "f")


def test_order_50_check_against_the_closed_form():
    # d^n/dx^n e^x sin x = 2^(n/2) e^x sin(x + n pi / 4)
    doc = cli("grad", "sin(x)*exp(x)", "--order", "50", "--at", "0.5", "--check",
              "--format", "json").json()
    c = _checks(doc)[-1]
    want = 2 ** 25 * math.exp(0.5) * math.sin(0.5 + 50 * math.pi / 4)
    assert math.isclose(c["exact"], want, rel_tol=1e-14)
    assert math.isclose(c["fd"], want, rel_tol=1e-14)


def _make_wrong(monkeypatch, order: int) -> None:
    """Make grad's derivative of ``order`` off by one part in a million."""
    import autodx.api as api

    real = api.grad_rows

    def wrong(*a, **k):
        out = real(*a, **k)
        out.values["derivatives"][order] = out.values["derivatives"][order] * (1 + 1e-6)
        return out
    monkeypatch.setattr(api, "grad_rows", wrong)


def test_a_wrong_number_exits_3(monkeypatch):
    """The check is worth something only if it catches a wrong derivative: make the
    engine's first derivative off by one part in a million."""
    _make_wrong(monkeypatch, order=1)
    run = cli("grad", "x**3", "--order", "2", "--at", "2", "--check", "--format", "json")
    assert run.code == 3, run
    doc = json.loads(run.stdout)
    checks = _checks(doc)
    assert [c["verdict"] for c in checks] == ["ok", "disagrees", "ok"]
    assert checks[1]["why"] == ("off by 1.0e-06 relative, beyond the tolerance, from the "
                                "symbolic and the finite difference")
    assert doc["check"]["disagrees"] == 1
    assert "1 DISAGREE" in run.stderr


def test_float64_cancellation_is_reported_as_a_disagreement():
    # (x+1)^2 - x^2 - 2x is 1, but in float64 at x = 1e8 the terms cancel to 0
    run = cli("grad", "(x+1)**2 - x**2 - 2*x", "--at", "1e8", "--check", "--format", "plain")
    assert run.code == 3, run
    assert "DISAGREE" in run.stderr
    assert run.stdout.strip() == "0"  # the numbers are still written


@pytest.mark.parametrize("expr, at, culprit", [
    ("abs(x)", "0", "abs(x)"),
    ("round(x)*x", "2.5", "round(x)"),
    ("floor(x) + x**2", "3", "floor(x)"),
    ("max(x, 1 - x)", "0.5", "max"),
    ("sign(x - 1)*x", "1", "sign(x - 1)"),
])
def test_non_smooth_points_are_not_checkable(expr, at, culprit):
    run = cli("grad", expr, "--order", "2", "--at", at, "--check", "--format", "json")
    doc = run.json()  # exit 0: nothing disagrees
    derivs = _checks(doc)[1:]
    assert {c["verdict"] for c in derivs} == {"not checkable"}
    assert all(culprit in c["why"] for c in derivs), derivs


def test_non_smooth_functions_are_checked_away_from_their_kinks():
    doc = cli("grad", "abs(x) + round(x)*x + floor(x)", "--order", "2", "--at", "-1.7",
              "--check", "--format", "json").json()
    assert {c["verdict"] for c in _checks(doc)} == {"ok"}


def test_a_non_smooth_function_of_a_constant_is_no_kink():
    # floor(12) and cbrt(0) sit on their jumps, but nothing there moves with x (found
    # by benchmarks/check_sweep.py: every derivative was "not checkable")
    doc = cli("grad", "x*floor(3*4) + cbrt(0)*x + x**2", "--order", "2", "--at", "0.5",
              "--check", "--format", "json").json()
    checks = _checks(doc)
    assert [c["verdict"] for c in checks] == ["ok"] * 3
    assert [c["exact"] for c in checks] == [6.25, 13.0, 2.0]  # 12 x + x^2 at 0.5


def test_outside_the_domain_is_not_checkable_and_warned():
    # log(x) is not real at -1, though sympy's derivative 1/x is: nothing to check
    run = cli("grad", "log(x)", "--order", "2", "--at", "-1", "--check", "--format", "json")
    doc = run.json()
    assert {c["verdict"] for c in _checks(doc)} == {"not checkable"}
    assert all("the function is not real here" in c["why"] for c in _checks(doc)[1:])
    assert doc["results"][0]["value"] is None
    assert "warning: the value is not finite" in run.stderr


def test_check_table_shows_verdicts_and_notes():
    run = cli("grad", "abs(x)", "--at", "0", "--at", "1", "--check")
    assert run.code == 0, run
    assert "verdict" in run.stdout and "not checkable [1]" in run.stdout
    assert "[1] abs(x) is not smooth at this point" in run.stdout
    assert "at x=1" in run.stdout


def test_check_over_a_data_file_and_its_limit(tmp_cwd):
    rows = np.linspace(0.1, 2, 25)
    (tmp_cwd / "p.csv").write_text("x\n" + "\n".join(map(str, rows)) + "\n")
    doc = cli("grad", "x**2*sin(x)", "--data", "p.csv", "--check", "--format", "json").json()
    assert len(doc["results"]) == 25
    assert doc["check"]["ok"] == 50
    (tmp_cwd / "big.csv").write_text("x\n" + "1\n" * (trust.MAX_CHECK_POINTS + 1))
    assert_user_error(cli("grad", "x**2", "--data", "big.csv", "--check"), "at most 1,000")


# ---------------------------------------------------------------- the Python layer

def test_judge_tolerances():
    ok = trust.judge(1.0 + 1e-10, {"exact": 1.0, "fd": 1.0, "fd_bound": 1e-20}, 64)
    assert ok.verdict == "ok"
    bad = trust.judge(1.0 + 1e-7, {"exact": 1.0, "fd": 1.0, "fd_bound": 1e-20}, 64)
    assert bad.verdict == "disagrees"
    assert bad.why == "off by 1.0e-07 relative, beyond the tolerance, from the symbolic " \
        "and the finite difference"
    assert trust.judge(1.0 + 1e-7, {"exact": 1.0, "fd": 1.0, "fd_bound": 1e-20},
                       32).verdict == "ok"
    fd_only = trust.judge(1.0 + 1e-10, {"exact": 1.0, "fd": 1.1, "fd_bound": 0.2}, 64)
    assert fd_only.verdict == "ok"  # a finite difference too vague to judge: symbolic only
    assert fd_only.why.startswith("checked against the symbolic only")
    vague = trust.judge(2.0, {"exact": None, "why": "x", "fd": 1.0, "fd_bound": 0.5}, 64)
    assert vague.verdict == "not checkable"
    assert trust.judge(float("nan"), {"exact": 1.0}, 64).verdict == "disagrees"


def test_translation_uses_no_text_evaluation(monkeypatch):
    """The worker builds sympy from the tree: no eval, exec or sympify of a string."""
    import builtins

    seen = []

    def spy(original):
        def wrapper(source, *a, **k):
            if isinstance(source, str):
                seen.append(source)
            return original(source, *a, **k)
        return wrapper
    monkeypatch.setattr(builtins, "eval", spy(builtins.eval))
    monkeypatch.setattr(builtins, "exec", spy(builtins.exec))
    monkeypatch.setattr(sp, "sympify", spy(sp.sympify))
    reply = symbolic.references({
        "text": "dot(z, z)*erf(x) + L(x)", "defs": ["L(u) = log(u, 2)"],
        "layout": {"x": None, "z": 2}, "coords": ["x", "z[0]", "z[1]"],
        "entries": [[], [0], [1, 2]], "hvp": None,
        "points": [{"x": 0.5, "z": [1.0, 2.0]}], "check": True})
    assert seen == []
    assert reply["symbolic"][2] == "0"
    assert [c["exact"] for c in reply["checks"][0]][2] == 0.0


# ---------------------------------------------------------------- --symbolic without a point

def test_symbolic_without_a_point_gives_the_formulas():
    run = cli("grad", "x**3*y", "--order", "2", "--symbolic", "--format", "plain")
    assert run.code == 0, run
    f = X ** 3 * Y
    want = [sp.diff(f, X), sp.diff(f, Y), sp.diff(f, X, X), sp.diff(f, X, Y), sp.diff(f, Y, Y)]
    lines = run.stdout.splitlines()
    assert len(lines) == 5
    for line, w in zip(lines, want):
        assert _same(line, w, {"x": X, "y": Y})


def test_symbolic_without_a_point_never_imports_jax():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from autodx.cli import main\n"
        "sys.argv = ['autodx', 'jvp-partial', 'x**2*y**3', '--indices', 'x,y,y',\n"
        "            '--symbolic', '--format', 'json']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as e:\n"
        "    assert e.code in (0, None), e.code\n"
        "print('jax imported' if 'jax' in sys.modules else 'no jax', file=sys.stderr)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stderr.strip().endswith("no jax"), run.stderr
    doc = json.loads(run.stdout)
    assert doc["results"] == [] and doc["indices"] == [0, 1, 1]
    assert _same(doc["symbolic"]["partial"], 12 * X * Y, {"x": X, "y": Y})


def test_symbolic_without_a_point_table_json_and_hvp(tmp_cwd):
    run = cli("hessian", "sin(x*b)", "--hvp", "[1,2]", "--symbolic")
    assert run.code == 0, run
    assert "Hv[b]" in run.stdout and "Hv[x]" in run.stdout  # not read as rich markup
    b = sp.Symbol("b", real=True)
    doc = cli("hessian", "sin(x*b)", "--hvp", "[1,2]", "--symbolic", "--format",
              "json").json()
    f = sp.sin(X * b)
    for i, a in enumerate((b, X)):
        want = sp.diff(f, a, b) + 2 * sp.diff(f, a, X)
        assert _same(doc["symbolic"]["hvp"][i], want, {"x": X, "b": b})
    run = cli("grad", "x*y", "--symbolic", "--out", "s.json")
    assert run.code == 0 and "wrote the symbolic derivatives to s.json" in run.stderr
    assert json.loads((tmp_cwd / "s.json").read_text())["symbolic"]["derivatives"]["1"] == \
        ["y", "x"]


def test_symbolic_without_a_point_errors(tmp_cwd):
    assert_user_error(cli("grad", "dot(z, z)", "--symbolic"), "z is a vector",
                      "--at")
    assert_user_error(cli("grad", "x*y", "--symbolic", "--format", "csv"), "formulas")
    assert_user_error(cli("grad", "x*y", "--symbolic", "--out", "s.npy"), "formulas")
    assert not (tmp_cwd / "s.npy").exists()
    assert_user_error(cli("grad", "x*y", "--symbolic", "--wrt", "q"), "--wrt q")
    assert_user_error(cli("jvp-partial", "x*y", "--symbolic", "--indices", "5"),
                      "out of range")
    assert_user_error(cli("grad", "exp(sin(x)*cos(x)*tan(x))/(1 + x**2)", "--order", "40",
                          "--symbolic", "--symbolic-timeout", "0.5"),
                      "sympy did not finish within 0.5 s")
    # --check still needs a point
    assert_user_error(cli("grad", "x*y", "--check"), "no point given")


def test_table_labels_are_not_read_as_markup():
    run = cli("hessian", "sin(x*b)", "--at", "x=1,b=2", "--hvp", "[1,2]")
    assert run.code == 0
    assert "Hv[b]" in run.stdout


def test_the_worker_never_imports_from_the_current_folder(tmp_cwd):
    """python -m puts the current folder first on sys.path; the worker runs with -P, so a
    sympy.py or an autodx/ lying in the user's folder is never imported."""
    canary = tmp_cwd / "PWNED"
    payload = f"open({str(canary)!r}, 'w').write('x')\n"
    (tmp_cwd / "sympy.py").write_text(payload)
    (tmp_cwd / "mpmath.py").write_text(payload)
    (tmp_cwd / "autodx").mkdir()
    (tmp_cwd / "autodx" / "__init__.py").write_text(payload)
    run = cli("grad", "x**2", "--symbolic", "--format", "plain")
    assert run.code == 0, run
    assert run.stdout == "2*x\n"
    assert not canary.exists()


def test_check_alone_skips_printing_and_builds_each_order_from_the_last():
    request = {"text": "sin(x)*exp(x)", "defs": [], "layout": {"x": None}, "coords": ["x"],
               "entries": [[]] + [[0] * k for k in range(1, 31)], "hvp": None,
               "points": [{"x": 0.5}], "check": True, "symbolic": False}
    reply = symbolic.references(request)
    assert "symbolic" not in reply
    exact = [c["exact"] for c in reply["checks"][0]]
    for k in (1, 10, 30):  # d^k/dx^k e^x sin x = 2^(k/2) e^x sin(x + k pi/4)
        want = 2 ** (k / 2) * math.exp(0.5) * math.sin(0.5 + k * math.pi / 4)
        assert math.isclose(exact[k], want, rel_tol=1e-14)


# ---------------------------------------------------------------- the scale of a computation

def test_check_does_not_cry_wolf_at_a_zero_between_large_neighbours():
    # d7 of 1/(1+25x^2) at 0.2 is 5.5e-9 (0.2 is not exact in binary) between d6 = -7e5
    # and d8 = 4.9e8: 0 is right to float64 precision, as are d3 = 0 and the rest
    run = cli("grad", "1/(1+25x^2)", "--order", "10", "--at", "0.2", "--check",
              "--format", "json")
    assert run.code == 0, run.stderr
    doc = json.loads(run.stdout)
    checks = _checks(doc)
    assert [c["verdict"] for c in checks] == ["ok"] * 11
    assert checks[7]["value"] == 0.0 and abs(checks[7]["exact"] - 5.46e-9) < 1e-11
    assert "rounding noise" not in run.stderr


def test_a_wrong_high_derivative_is_still_caught(monkeypatch):
    _make_wrong(monkeypatch, order=5)
    run = cli("grad", "sin(x)*exp(x)", "--order", "8", "--at", "0.5", "--check",
              "--format", "json")
    assert run.code == 3, run
    verdicts = [c["verdict"] for c in _checks(json.loads(run.stdout))]
    assert verdicts[5] == "disagrees" and verdicts.count("disagrees") == 1


# ---------------------------------------------------------------- sympy out of time

SLOW = "exp(sin(x)*cos(x)*tan(x))/(1 + x**2)"  # 30 derivatives take sympy minutes


def _slow_truth(k: int, x0: float) -> float:
    """d^k/dx^k of SLOW (= exp(sin(x)^2)/(1 + x^2)) by mpmath's own numerical
    differentiation at 60 digits: nothing of autodx's references."""
    with mpmath.workdps(60):
        return float(mpmath.diff(lambda t: mpmath.exp(mpmath.sin(t) ** 2) / (1 + t ** 2),
                                 mpmath.mpf(x0), k))


def test_sympy_out_of_time_still_checks_every_number():
    run = cli("grad", SLOW, "--order", "30", "--at", "0.3", "--check", "--symbolic-timeout",
              "4", "--format", "json")
    assert run.code == 0, run
    doc = json.loads(run.stdout)
    checks = _checks(doc)
    assert [c["verdict"] for c in checks] == ["ok"] * 31, checks
    assert checks[30]["exact"] is None, "sympy finished: the test needs one it cannot"
    assert any(w.startswith("sympy did not finish within 4 s") for w in doc["warnings"])
    for k, c in enumerate(checks[1:], 1):
        want = _slow_truth(k, 0.3)
        assert abs(c["fd"] - want) <= c["fd_bound"] + 1e-14 * abs(want), (k, c, want)
        if c["exact"] is None:  # orders above 6: Cauchy's integral, one circle for all
            name = "Cauchy integral" if k > 6 else "finite difference"
            assert c["why"] == f"checked against the {name} only: sympy ran out of time " \
                "(--symbolic-timeout)"


def test_a_wrong_number_is_caught_when_sympy_is_out_of_time(monkeypatch):
    _make_wrong(monkeypatch, order=3)
    _make_wrong(monkeypatch, order=20)
    run = cli("grad", SLOW, "--order", "30", "--at", "0.3", "--check", "--symbolic-timeout",
              "4", "--format", "json")
    assert run.code == 3, run
    checks = _checks(json.loads(run.stdout))
    assert [k for k, c in enumerate(checks) if c["verdict"] == "disagrees"] == [3, 20]
    assert checks[20]["exact"] is None
    assert checks[20]["why"] == "off by 1.0e-06 relative, beyond the tolerance, from the " \
        "Cauchy integral"


def _request(text: str, order: int, at: float, **more) -> dict:
    return {"text": text, "defs": [], "layout": {"x": None}, "coords": ["x"],
            "entries": [[]] + [[0] * k for k in range(1, order + 1)], "hvp": None,
            "points": [{"x": at}], "check": True, "symbolic": False, **more}


def test_the_worker_answers_within_its_time_limit():
    """Seven points at order 40: sympy cannot finish, and the reply still comes at the
    limit, with the references from the function's values that were finished."""
    import time

    from autodx.check.worker import Worker

    request = _request(SLOW, 40, 0.1, command="grad", symbolic=True)
    request["points"] = [{"x": 0.1 * i} for i in range(1, 8)]
    with Worker() as worker:
        time.sleep(2)  # its import of sympy, which a command overlaps with JAX's work
        start = time.monotonic()
        reply = worker.ask(request, 3.0)
        took = time.monotonic() - start
    assert took < 3.0 + 0.5
    assert reply["stopped"] == "sympy did not finish within 3 s (--symbolic-timeout)"
    assert "symbolic" not in reply and len(reply["checks"]) == 7
    top = reply["checks"][0][40]
    assert top["exact"] is None and top["why"] == "sympy ran out of time (--symbolic-timeout)"
    assert top["fd_kind"] == "cauchy"
    assert math.isclose(top["fd"], _slow_truth(40, 0.1), rel_tol=1e-13)
    assert reply["missing"]["exact"] >= 7 * 30


def test_sympy_failing_keeps_the_references_from_the_values(monkeypatch):
    """1/(1 + 25 x^2) has poles at +-i/5, 0.28 from 0.2: circles holding them are
    refused (their mean is not f(0.2)), and the first radius inside gives every order."""
    def fail(self, key):
        raise RecursionError("maximum recursion depth exceeded")
    monkeypatch.setattr(symbolic._Derivatives, "partial", fail)
    request = _request("1/(1+25x^2)", 30, 0.2)
    lines = list(symbolic.reference_lines(request))
    assert {"symbolic_error": "RecursionError: maximum recursion depth exceeded"} in lines
    row = replies.merge(lines, request["entries"], 1, "no symbolic derivative", None)
    row = row["checks"][0]
    x = mpmath.mpf(0.2)  # the float nearest 0.2, as autodx sees it
    for k in range(1, 31):  # 1/(1+25x^2) = (1/(x - i/5) - 1/(x + i/5)) / (10i)
        with mpmath.workdps(50):
            pole = mpmath.mpc(0, mpmath.mpf(1) / 5)
            want = float(((-1) ** k * mpmath.factorial(k) / mpmath.mpc(0, 10) * (
                (x - pole) ** -(k + 1) - (x + pole) ** -(k + 1))).real)
        c = row[k]
        assert c["exact"] is None and c["why"] == "no symbolic derivative"
        assert c.get("fd_kind") == ("cauchy" if k > 6 else None)
        assert abs(c["fd"] - want) <= c["fd_bound"] + 1e-15 * abs(want), (k, c, want)
        assert c["fd_bound"] <= 1e-12 * abs(want)


@pytest.mark.parametrize("text, at, closed", [
    # the branch of abs at 0.5 is 1 - x: Leibniz on (1 - x) sin(x)
    ("abs(x - 1)*sin(x)", 0.5, lambda k, x: (1 - x) * mpmath.sin(x + k * mpmath.pi / 2)
     - k * mpmath.sin(x + (k - 1) * mpmath.pi / 2)),
    # a singularity 0.001 away: only the ninth radius, 4**-8, fits
    ("log(x)", 0.001, lambda k, x: (-1) ** (k - 1) * mpmath.factorial(k - 1) / x ** k),
    ("max(x, 1 - x)**3 + floor(3*x)", 0.3, lambda k, x: mpmath.ff(3, k) * (1 - x) ** (3 - k)
     * (-1) ** k),
])
def test_cauchy_integrals_follow_the_branch_at_the_point(text, at, closed):
    reply = symbolic.references(_request(text, 12, at))
    x = mpmath.mpf(at)
    for k, c in enumerate(reply["checks"][0][7:], 7):
        with mpmath.workdps(50):
            want = float(closed(k, x))
        assert c["fd_kind"] == "cauchy", c
        assert abs(c["fd"] - want) <= c["fd_bound"] + 1e-14 * max(abs(want), 1), (k, c, want)
        assert math.isclose(c["exact"], want, rel_tol=1e-13, abs_tol=1e-30)


def test_past_order_40_without_a_circle_the_values_give_no_reference():
    """erfinv has no value at complex points in mpmath, so no circle: order 8 falls back
    to a finite difference, and one of order 45 (660 digits) is said, not attempted."""
    request = _request("erfinv(x/2)", 0, 0.3)
    request["entries"] = [[], [0] * 8, [0] * 45]
    refs = next(symbolic.reference_lines(request))["refs"]
    assert refs[2] == {"fd_why": "no reference from the function's values at order 45: it "
                       "is not analytic on any circle around the point, and finite "
                       "differences stop at order 40"}
    with mpmath.workdps(60):
        want = mpmath.diff(lambda t: mpmath.erfinv(t / 2), mpmath.mpf(0.3), 8)
    assert "fd_kind" not in refs[1] and refs[1]["fd_bound"] < 1e-20
    assert abs(refs[1]["fd"] - float(want)) <= refs[1]["fd_bound"] + 1e-14 * abs(want)


def test_the_sweep_section_survives_the_benchmark_rewrite():
    """benchmarks/run.py rewrites docs/benchmarks.md but keeps what follows the hostile
    input record; the --check sweep's record is there."""
    import importlib.util
    import os

    from conftest import ROOT

    spec = importlib.util.spec_from_file_location(
        "bench_run", os.path.join(ROOT, "benchmarks", "run.py"))
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    tail = run.kept_sections(os.path.join(ROOT, "docs", "benchmarks.md"))
    assert "## The --check sweep" in tail and "benchmarks/check_sweep.py" in tail


# --check must not cry wolf: the tolerance follows the scale of the computation. tan(atan(x))
# is x, so every derivative from the second is 0; float64 Taylor mode leaves about 1e-12
# there at order 9 (atan's 9th derivative at 0.343 is near 1e4), beyond the 1e-12 absolute
# tolerance alone: exit 3 before grad measured the rounding noise at every order.
def test_a_number_within_the_measured_rounding_noise_is_ok():
    run = cli("grad", "tan(atan(x))", "--order", "9", "--at", "0.343", "--check",
              "--format", "json")
    assert run.code == 0, run.stderr
    checks = _checks(run.json())
    assert [c["exact"] for c in checks] == [0.343, 1.0] + [0.0] * 8
    assert all(c["verdict"] == "ok" for c in checks)
    assert all(abs(c["value"] - c["exact"]) < 1e-9 for c in checks)


def test_the_noise_allowance_is_counted_and_hides_no_real_error():
    # the allowance is 30 times the measured noise: a number 1e-6 off where the noise is
    # 1e-12 still disagrees; one 1e-11 off a zero with noise 1e-12 is ok, and says why
    off = trust.judge(1.0 + 1e-6, {"exact": 1.0}, 64, 0.0, 1e-12)
    assert off.verdict == "disagrees"
    near = trust.judge(1e-11, {"exact": 0.0}, 64, 0.0, 1e-12)
    assert near.verdict == "ok" and near.why.startswith(trust.WITHIN_NOISE)
    assert trust.judge(1e-11, {"exact": 0.0}, 64, 0.0, 0.0).verdict == "disagrees"
    doc = cli("grad", "log(2*exp(x))", "--order", "30", "--at", "0.5", "--check",
              "--format", "json").json()
    noisy = [c for c in _checks(doc) if (c["why"] or "").startswith(trust.WITHIN_NOISE)]
    assert doc["check"]["within_noise"] == len(noisy) > 0
    assert doc["check"]["disagrees"] == 0
    assert all(c["exact"] == 0.0 for c in noisy)  # log(2 e^x) = log 2 + x


def test_a_tensor_entry_is_checked_at_the_scale_of_its_tensor():
    # the partials in z[1] and z[2] are exactly 0; interpolated from the directions'
    # coefficients they came out near 3.6e-12, beside entries of 464: --check said 9
    # numbers DISAGREE (exit 3). Each entry is known to its tensor's largest entry.
    run = cli("grad", "sin(x*y*z[0])", "--at", "x=0.5,y=2,z=[1,2,3]", "--order", "7",
              "--check", "--format", "json")
    assert run.code == 0, run.stderr
    doc = run.json()
    assert doc["check"]["disagrees"] == 0 and doc["check"]["ok"] == 792
    checks = _checks(doc)
    zeros = [c for c in checks if c["exact"] == 0.0 and c["value"] != 0.0]
    assert zeros and all(abs(c["value"]) < 1e-11 for c in zeros)
    top = max(abs(c["exact"]) for c in checks if c["entry"].startswith("d7f"))
    assert all(abs(c["value"] - c["exact"]) < 1e-13 * top for c in checks
               if c["entry"].startswith("d7f"))


def test_a_wrong_tensor_entry_still_disagrees(monkeypatch):
    import autodx.api as api

    real = api.grad_rows

    def wrong(*a, **k):  # d2f/dy^2 of x**2*y is 0: make it 1e-6 of the tensor's largest
        out = real(*a, **k)
        out.values["derivatives"][2] = out.values["derivatives"][2].copy()
        out.values["derivatives"][2][:, 1, 1] += 1e-6 * 4.0
        return out
    monkeypatch.setattr(api, "grad_rows", wrong)
    run = cli("grad", "x**2*y", "--order", "2", "--at", "x=1,y=2", "--check", "--format", "json")
    assert run.code == 3, run
    assert [c["entry"] for c in _checks(json.loads(run.stdout))
            if c["verdict"] == "disagrees"] == ["d2f/dy^2"]
