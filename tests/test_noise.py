"""The rounding-noise estimate of high derivatives (autodx.noise), against closed forms,
and its warning through the CLI."""
from __future__ import annotations

import math

import pytest

from conftest import cli


def _closed_sinexp(k: int, x: float) -> float:
    return 2 ** (k / 2) * math.exp(x) * math.sin(x + k * math.pi / 4)


def test_rounding_noise_estimate_follows_the_true_error():
    import autodx.api as api

    e = api.expression("sin(x)*exp(x)")
    out = api.grad_rows(e, api.plan(e, [0.5, 1.3, -0.7]), 100)
    assert out.rows.count == 3 and out.values["noise"].shape == (3, 100)
    assert [out.rows.point(i)["x"] for i in range(3)] == [0.5, 1.3, -0.7]
    for i, x in enumerate((0.5, 1.3, -0.7)):
        assert out.values["value"][i] == math.sin(x) * math.exp(x)
        for k in (20, 50, 70, 100):
            want = _closed_sinexp(k, x)
            true = abs(out.values["derivatives"][k][i] - want) / abs(want)
            estimate = out.values["noise"][i, k - 1]
            # the estimate is an order of magnitude, never far below the truth where
            # the truth matters (the warning's threshold is 1e-8: an error of 1e-14 may
            # be estimated 0, as with jax 0.5.0 at x = -0.7, order 20)
            assert estimate > true / 30 or true < 1e-12, (x, k)
            assert estimate < max(true, 1e-15) * 300, (x, k)


def test_rounding_noise_warning_through_the_cli():
    run = cli("grad", "sin(x)*exp(x)", "--order", "100", "--at", "0.5", "--format", "json")
    doc = run.json()
    noise = [w for w in doc["warnings"] if w.startswith("rounding noise")]
    assert len(noise) == 1 and "at x=0.5, the derivatives from order 5" in noise[0]
    assert "warning: rounding noise: at x=0.5" in run.stderr
    assert len(doc["results"]) == 1 and doc["results"][0]["at"] == {"x": 0.5}


@pytest.mark.parametrize("expr, order, at", [
    ("1/(1+x**2)", 100, "0.5"),      # Taylor terms that do not cancel
    ("x**5 + 3*x", 20, "0.5"),       # derivatives exactly zero past the degree
    ("sin(x)", 12, "0"),             # exact zeros at the point
    ("exp(100*x)", 30, "0.01"),      # derivatives growing fast
    ("sin(x)*exp(x)", 30, "0.5"),    # cancellation, but within float64's digits
])
def test_no_rounding_noise_warning_where_the_digits_hold(expr, order, at):
    run = cli("grad", expr, "--order", str(order), "--at", at, "--format", "plain")
    assert run.code == 0 and "rounding noise" not in run.stderr, run
