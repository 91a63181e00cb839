"""Ranges of points in --at (start:stop:count, both ends included) and grids of them,
through the CLI. The points are computed here with numpy.linspace and itertools.product
(the contract's semantics), every number against a closed form:
f = sin(x)*y, df/dx = cos(x)*y, df/dy = sin(x)."""
from __future__ import annotations

import csv
import io
import itertools
import json
import math
import re
import tracemalloc

import numpy as np
import pytest

from conftest import assert_user_error, cli

X = np.linspace(0, 1, 11)
Y = np.linspace(-1, 2, 4)
GRID = "x=0:1:11,y=-1:2:4"
POINTS = list(itertools.product(X, Y))  # x written first: it varies slowest
EXPR = "sin(x)*y"


def closed_form(x, y) -> np.ndarray:
    """Rows of f, df/dx, df/dy."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    return np.stack([np.sin(x) * y, np.cos(x) * y, np.sin(x)], axis=-1)


def assert_close(got, points, rtol=1e-14, atol=1e-15):
    points = np.asarray(points, float)
    np.testing.assert_allclose(np.asarray(got, float), closed_form(points[:, 0], points[:, 1]),
                               rtol=rtol, atol=atol)


def json_rows(doc: dict) -> tuple[list, list]:
    results = doc["results"]
    at = [(r["at"]["x"], r["at"]["y"]) for r in results]
    got = [[r["value"], *r["derivatives"]["1"]] for r in results]
    return at, got


def csv_rows(text: str) -> tuple[list, np.ndarray]:
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["x", "y", "f", "df/dx", "df/dy"]
    table = np.array(rows[1:], dtype=float)
    return [tuple(r) for r in table[:, :2]], table[:, 2:]


# ---------------------------------------------------------------- the grid

def test_a_grid_is_the_product_in_row_major_order():
    at, got = json_rows(cli("grad", EXPR, "--at", GRID, "--format", "json").json())
    assert len(at) == 11 * 4
    assert at == POINTS  # exactly: linspace's values, ends included
    assert at[0] == (0.0, -1.0) and at[-1] == (1.0, 2.0)
    assert_close(got, at)


def test_the_first_range_written_varies_slowest():
    at, got = json_rows(cli("grad", EXPR, "--at", "y=-1:2:4,x=0:1:11", "--format",
                            "json").json())
    assert at == [(x, y) for y, x in itertools.product(Y, X)]
    assert_close(got, at)


@pytest.mark.parametrize("fmt", ["csv", "json", "plain", "table"])
def test_every_stdout_format_has_every_point(fmt):
    run = cli("grad", EXPR, "--at", GRID, "--format", fmt)
    assert run.code == 0 and run.stderr == "", run
    if fmt == "json":
        at, got = json_rows(json.loads(run.stdout))
    elif fmt == "csv":
        at, got = csv_rows(run.stdout)
    elif fmt == "plain":  # one line per point (order 1: the gradient), 12 digits
        grads = np.array([[float(v) for v in line.split()]
                          for line in run.stdout.splitlines()])
        np.testing.assert_allclose(grads, closed_form(*np.array(POINTS).T)[:, 1:],
                                   rtol=1e-11, atol=1e-12)
        return
    else:  # the first 20 points, each its own row, and a caption for the rest
        rows = [line.split("│") for line in run.stdout.splitlines() if "│" in line]
        assert len(rows) == 20
        assert "first 20 of 44 points" in run.stdout
        at = [tuple(float(v) for v in re.findall(r"[xy]=(\S+?)(?:,|$)", r[0].strip()))
              for r in rows]
        np.testing.assert_allclose(at, POINTS[:20], rtol=1e-11)
        got = [[float(v) for v in r[1:]] for r in rows]
        assert_close(got, POINTS[:20], rtol=1e-11, atol=1e-12)
        return
    assert at == POINTS
    assert_close(got, at)


@pytest.mark.parametrize("suffix", [".csv", ".json", ".npz"])
def test_every_out_file_has_every_point(tmp_cwd, suffix):
    run = cli("grad", EXPR, "--at", GRID, "--out", "r" + suffix)
    assert run.code == 0 and run.stdout == "", run
    assert run.stderr.strip() == f"wrote 44 results to r{suffix}"
    if suffix == ".json":
        at, got = json_rows(json.loads((tmp_cwd / "r.json").read_text()))
        assert at == POINTS
    elif suffix == ".csv":
        at, got = csv_rows((tmp_cwd / "r.csv").read_text())
        assert at == POINTS
    else:  # rows in the order of the grid
        with np.load(tmp_cwd / "r.npz") as arrays:
            assert arrays["coordinates"].tolist() == ["x", "y"]
            # the points travel with the results: a grid need not be rebuilt
            np.testing.assert_array_equal(
                np.column_stack([arrays["at_x"], arrays["at_y"]]), np.array(POINTS))
            got = np.column_stack([arrays["value"], arrays["d1"]])
    assert_close(got, POINTS)


def test_hessian_and_jvp_partial_over_a_grid():
    """f = x^2 y^3: H = [[2y^3, 6xy^2], [6xy^2, 6x^2 y]], d2f/dx dy = 6xy^2."""
    points = list(itertools.product(np.linspace(-1, 1, 3), np.linspace(0.5, 2, 4)))
    hess = cli("hessian", "x**2*y**3", "--at", "x=-1:1:3,y=0.5:2:4", "--format", "json")
    part = cli("jvp-partial", "x**2*y**3", "--indices", "x,y", "--at", "x=-1:1:3,y=0.5:2:4",
               "--format", "csv")
    results = hess.json()["results"]
    assert [(r["at"]["x"], r["at"]["y"]) for r in results] == points
    rows = list(csv.reader(io.StringIO(part.stdout)))[1:]
    assert [(float(r[0]), float(r[1])) for r in rows] == points
    for (x, y), r, row in zip(points, results, rows):
        exact = [[2 * y ** 3, 6 * x * y ** 2], [6 * x * y ** 2, 6 * x ** 2 * y]]
        np.testing.assert_allclose(r["hessian"], exact, rtol=1e-14, atol=1e-15)
        assert float(row[3]) == pytest.approx(6 * x * y ** 2, rel=1e-14, abs=1e-15)


def test_ranges_mix_with_values_vectors_and_more_at_options():
    """Each --at makes its own points, in the order given; fixed values repeat."""
    doc = cli("grad", "dot(z, z)*x + y", "--at", "x=0:1:3,y=2,z=[1,-2]", "--at",
              "x=5,y=-1:1:2,z=[0.5,3]", "--format", "json").json()
    expected = [(x, 2.0, [1.0, -2.0]) for x in np.linspace(0, 1, 3)] + \
        [(5.0, y, [0.5, 3.0]) for y in np.linspace(-1, 1, 2)]
    results = doc["results"]
    assert [(r["at"]["x"], r["at"]["y"], r["at"]["z"]) for r in results] == expected
    assert doc["coordinates"] == ["x", "y", "z[0]", "z[1]"]
    for (x, y, z), r in zip(expected, results):
        zz = sum(v * v for v in z)
        assert r["value"] == pytest.approx(zz * x + y, rel=1e-15)
        np.testing.assert_allclose(r["derivatives"]["1"], [zz, 1.0, 2 * x * z[0], 2 * x * z[1]],
                                   rtol=1e-15, atol=0)


@pytest.mark.parametrize("at, xs", [
    ("0:pi:5", np.linspace(0, math.pi, 5)),
    ("-pi/2:pi/2:3", np.linspace(-math.pi / 2, math.pi / 2, 3)),
    ("-1:1:5", np.linspace(-1, 1, 5)),
    ("x=2*pi:0:4", np.linspace(2 * math.pi, 0, 4)),  # descending
    (" x = sqrt(2) : E : 3 ", np.linspace(math.sqrt(2), math.e, 3)),
])
def test_constant_expression_ends_and_a_bare_range(at, xs):
    doc = cli("grad", "sin(x)", "--at", at, "--format", "json").json()
    got_x = [r["at"]["x"] for r in doc["results"]]
    np.testing.assert_allclose(got_x, xs, rtol=1e-15, atol=0)
    assert got_x[0] == pytest.approx(xs[0], rel=1e-15) and len(got_x) == len(xs)
    np.testing.assert_allclose([r["derivatives"]["1"] for r in doc["results"]],
                               np.cos(got_x), rtol=1e-14, atol=1e-15)


# ---------------------------------------------------------------- refusals

@pytest.mark.parametrize("args, fragments", [
    (["--at", "x=0:1:1,y=1"], ["'0:1:1' asks for 1 point;", "at least 2", "x=0.5"]),
    (["--at", "x=0:1:0,y=1"], ["asks for 0 points", "at least 2"]),
    (["--at", "x=0:1:-3,y=1"], ["asks for -3 points", "at least 2"]),
    (["--at", "x=0:1:2.5,y=1"], ["count '2.5'", "not a whole number", "in digits"]),
    (["--at", "x=0:1:1e3,y=1"], ["count '1e3'", "not a whole number", "in digits"]),
    (["--at", "x=0:1:,y=1"], ["count ''", "not a whole number"]),
    (["--at", "x=0:1,y=1"], ["'0:1' is not a range", "start:stop:count"]),
    (["--at", "x=0:1:2:3,y=1"], ["is not a range", "start:stop:count"]),
    (["--at", "x=0:inf:3,y=1"], ["not finite"]),
    (["--at", "x=0:y:3,y=1"], ["y is a variable, not a constant"]),
    (["--at", "x=:1:3,y=1"], ["an empty value"]),
    (["--at", "0:1:3"], ["a bare value needs exactly one variable"]),
])
def test_a_bad_range_is_one_error_line(args, fragments):
    assert_user_error(cli("grad", EXPR, *args), *fragments)


@pytest.mark.parametrize("args, fragments", [
    (["grad", "dot(z, z)", "--at", "z=[0:1:3,2]"], ["a range cannot be inside a vector"]),
    (["grad", "dot(z, z)", "--at", "[0:1:3]"], ["a range cannot be inside a vector"]),
    (["grad", "dot(z, z)", "--at", "z=0:1:3"], ["z is a vector", "was given the range "
                                                "0:1:3", "scalar"]),
    (["grad", "dot(z, z)*x", "--at", "x=0:1:3,z=[1,2]", "--at", "x=0,z=[1,2,3]"],
     ["other lengths"]),
    (["plot", "sin(a*x)", "--range", "0:1", "--at", "a=0:1:3"],
     ["--at a=0:1:3", "--range A:B", "--points K", "--wrt a --range 0:1 --points 3"]),
    (["plot", "sin(x)", "--range", "0:1", "--at", "0:1:3"], ["--range A:B"]),
])
def test_a_range_where_it_cannot_be_is_refused(args, fragments):
    assert_user_error(cli(*args), *fragments)


def test_a_range_with_data_is_refused(tmp_cwd):
    (tmp_cwd / "d.csv").write_text("x\n1\n2\n")
    assert_user_error(cli("grad", EXPR, "--data", "d.csv", "--at", "y=0:1:3"),
                      "--at y=0:1:3", "with --data the rows come from the file",
                      "a range in --at makes points")


HUGE = [
    (["--at", "x=0:1:1000000000000,y=1"], ["makes 1,000,000,000,000 points",
                                           "limit of 10,000,000"]),
    (["--at", "x=0:1:" + "9" * 5000 + ",y=1"], ["5,000-digit number of points"]),
    (["--at", "x=0:1:10000001,y=1"], ["makes 10,000,001 points"]),
    (["--at", "x=0:1:1000000,y=0:1:1000000"], ["makes 1,000,000,000,000 points",
                                               "limit of 10,000,000"]),
    (["--at", "x=0:1:4000,y=0:1:2501"], ["makes 10,004,000 points"]),
    (["--at", "x=0:1:6000000,y=1", "--at", "x=0:1:6000000,y=2"], ["makes 12,000,000"]),
]


def refused_within(limit: int, args: list, fragments: list) -> None:
    """Refused with one error line, and at its peak the refusal held less than ``limit``
    bytes (a warm run first: imports and the compiled expression are not counted)."""
    assert_user_error(cli(*args), *fragments)
    tracemalloc.start()
    try:
        run = cli(*args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_user_error(run, *fragments)
    assert peak < limit, peak


@pytest.mark.parametrize("args, fragments", HUGE)
def test_too_many_points_are_refused_before_anything_is_allocated(args, fragments):
    refused_within(16 << 20, ["grad", EXPR, *args], fragments)  # 10^7 points: 80 MB a column


def test_the_numbers_of_the_points_are_bounded_too():
    """10^7 points of 11 numbers are 1.1e8 numbers, over the limit of 1e8."""
    refused_within(16 << 20, ["grad", "dot(z, z)*x", "--at",
                              "x=0:1:10000000,z=[1,2,3,4,5,6,7,8,9,10]"],
                   ["10,000,000 points of 11 numbers each", "limit of 100,000,000"])


# ---------------------------------------------------------------- one batch

def test_a_100000_point_range_is_one_compiled_batch(monkeypatch):
    """One program compiled for all the rows (chunks of one size), not one a point."""
    from autodx import progcache

    compiled = []
    real = progcache.compiled

    def counting(*args, **kwargs):
        compiled.append(len(next(iter(args[1][0].values()))))  # rows it is made for
        return real(*args, **kwargs)
    monkeypatch.setattr(progcache, "compiled", counting)
    run = cli("grad", EXPR, "--at", "x=-2:3:100000,y=0.5", "--format", "csv")
    assert run.code == 0, run
    assert len(compiled) == 1, compiled
    at, got = csv_rows(run.stdout)
    x = np.linspace(-2, 3, 100000)
    assert len(at) == 100000
    np.testing.assert_array_equal(np.array(at), np.column_stack([x, np.full_like(x, 0.5)]))
    assert_close(got, at)


def test_a_range_whose_span_overflows_is_refused():
    run = cli("grad", "x", "--at", "x=-1e308:1e308:3", "--format", "csv")
    assert_user_error(run, "spans more than a float64 holds")
