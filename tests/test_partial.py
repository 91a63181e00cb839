"""jvp-partial in nilpotent arithmetic at the documented limit of 16 indices, against
sympy's diff evaluated with 30 digits, and the memory of a many-row run of it.

A 16-index partial of sin(prod(x)) sums over every way to split the 16 directions, with
3^15 products in its largest convolution: each case here takes a fraction of a second.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import mpmath
import numpy as np
import pytest
import sympy as sp

from conftest import cli

XS = sp.symbols("x0:16")
POINT = [1.1 + i / 100 for i in range(16)]  # distinct entries, so no symmetry hides a slip
ALL = list(range(16))


def _at(values) -> str:
    return "x=[" + ",".join(repr(v) for v in values) + "]"


def _sympy(expr, indices, values=POINT) -> tuple[float, float]:
    """(value, partial) of ``expr`` along ``indices`` at ``values``, with 30 digits."""
    subs = {x: sp.Rational(repr(v)) for x, v in zip(XS, values)}
    d = sp.diff(expr, *[XS[i] for i in indices]) if indices else expr
    return float(expr.subs(subs).evalf(30)), float(d.subs(subs).evalf(30))


def _partial(text: str, indices, values=POINT) -> dict:
    run = cli("jvp-partial", text, "--indices", ",".join(map(str, indices)),
              "--at", _at(values), "--format", "json")
    return run.json()["results"][0]


PROD = sp.prod(XS)
X = sp.Matrix(XS)


SMALL = [0.6 + i / 100 for i in range(16)]


@pytest.mark.parametrize("text, expr, indices, values", [
    # the benchmark's case: the last operation is f(u), only its top coefficient is read
    ("sin(prod(x))", sp.sin(PROD), ALL, POINT),
    # a product last: f(u) is needed whole, then one dot product with x[0]
    ("x[0] * sin(prod(x))", XS[0] * sp.sin(PROD), ALL, POINT),
    # a quotient, the lift of 1/u (where prod(x) is near 10, the 16th partial of
    # 1/(1 + prod(x)) is a sum of terms near 1e13 that cancels to about 100, in any
    # arithmetic of 16 digits; near 0.0002 it does not)
    ("1 / (1 + prod(x))", 1 / (1 + PROD), ALL, SMALL),
    # repeated coordinates: 16 directions on 8 entries, each twice
    ("exp(prod(x) / 10)", sp.exp(PROD / 10), [i // 2 for i in range(16)], POINT),
    # factors that share 10 directions and each have one of their own
    ("exp(x[0]*x[1]*x[2]*x[3]*x[4]*x[5]*x[6]*x[7]*x[8]*x[9]*x[10] / 3)"
     " * sin(x[1]*x[2]*x[3]*x[4]*x[5]*x[6]*x[7]*x[8]*x[9]*x[10]*x[11])",
     sp.exp(sp.prod(XS[:11]) / 3) * sp.sin(sp.prod(XS[1:12])), list(range(12)), POINT),
    ("dot(x, x) ** 2.5", (X.dot(X)) ** sp.Rational(5, 2), ALL, POINT),
])
def test_many_indices_match_sympy(text, expr, indices, values):
    result = _partial(text, indices, values)
    value, partial = _sympy(expr, indices, values)
    assert result["value"] == pytest.approx(value, rel=1e-12)
    assert result["partial"] == pytest.approx(partial, rel=1e-10)


def test_sixteen_indices_of_an_exactly_constant_factor():
    """asin(sum(x) - sum(x) + 1/2) is pi/6 with every partial 0 (exactly: its argument
    is affine, with all 16 directions' coefficients 0), so the partial of it times
    prod(x) along every coordinate is pi/6; sqrt(x[0] - x[0]) is 0, not sqrt'(0) * 0 =
    nan, and adds nothing to sin(prod(x))."""
    result = _partial("asin(sum(x) - sum(x) + 0.5) * prod(x)", ALL)
    assert result["partial"] == pytest.approx(math.pi / 6, rel=1e-12)
    assert result["value"] == pytest.approx(math.pi / 6 * math.prod(POINT), rel=1e-12)
    result = _partial("sqrt(x[0] - x[0]) * prod(x) + sin(prod(x))", ALL)
    value, partial = _sympy(sp.sin(PROD), ALL)
    assert result["value"] == pytest.approx(value, rel=1e-12)
    assert result["partial"] == pytest.approx(partial, rel=1e-10)


def test_a_direction_the_expression_lacks_gives_zero():
    result = _partial("sin(x[0]*x[1]*x[2]*x[3]*x[4]*x[5]*x[6]*x[7]*x[8]*x[9])", ALL)
    assert result["partial"] == 0.0
    assert result["value"] == pytest.approx(_sympy(sp.sin(sp.prod(XS[:10])), [])[0], rel=1e-12)


# ---------------------------------------------------------------- memory of many rows

ROWS = 60
WRAPPER = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.stderr.write(done.stderr)
"""


@pytest.mark.parametrize("how", ["data", "at"])
def test_many_rows_of_sixteen_indices_are_chunked_by_working_memory(tmp_path, how):
    """A row of the 16-index sin(prod(x)) holds tens of MB at once (its results: 16
    bytes); chunks sized by the results alone held all 60 rows together (over 2 GB
    here, 23 GB for 200 rows). Sized by working memory, the run stays under 1 GiB."""
    rng = np.random.default_rng(12)
    rows = 1 + 0.2 * rng.random((ROWS, 16))
    if how == "data":
        np.save(tmp_path / "x.npy", rows)
        source = ["--data", str(tmp_path / "x.npy")]
    else:  # a plan of --at points is one program run once: it is chunked all the same
        source = [arg for row in rows for arg in ("--at", _at(row.tolist()))]
    out = tmp_path / "d.json"
    cmd = [sys.executable, "-m", "autodx", "jvp-partial", "sin(prod(x))", "--indices",
           ",".join(map(str, ALL)), *source, "--out", str(out)]
    env = dict(os.environ, AUTODX_NO_CACHE="1", AUTODX_SERVER="off")
    done = subprocess.run([sys.executable, "-c", WRAPPER, *cmd], capture_output=True,
                          text=True, env=env, timeout=300)
    code, max_rss_kib = map(int, done.stdout.split())
    assert code == 0, done.stderr
    assert max_rss_kib < 1 << 20, f"peak memory {max_rss_kib / 1024:.0f} MiB"
    results = json.loads(out.read_text())["results"]
    assert len(results) == ROWS
    d = sp.lambdify(XS, sp.diff(sp.sin(PROD), *XS), "mpmath")
    for i in (0, ROWS // 2, ROWS - 1):
        with mpmath.workdps(30):
            want = float(d(*map(mpmath.mpf, rows[i].tolist())))
        assert results[i]["partial"] == pytest.approx(want, rel=1e-10)
