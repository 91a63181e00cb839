"""Results held whole are bounded by the numbers they hold, and JSON writes tensors fast.

Every format but streamed CSV holds the results until the end: JSON and plain turn each
number into text (300 rows of grad "sin(x*y*z)" --order 10, 88,573 numbers a row, took
127 s and 9.3 GB as JSON), a table and .npy/.npz hold arrays (1,000 rows of order 12
over 3 coordinates: 6.4 GB). Past the bound the command is refused after one chunk,
with nothing written; CSV streams and answers.
"""
from __future__ import annotations

import gc
import json
import math

import numpy as np
from hypothesis import given, settings, strategies as st

from conftest import assert_user_error, cli

from autodx import jsontext, render


def _rows(path, count: int) -> None:
    path.write_text("x,y,z\n" + "".join(f"{0.3 + i / 100},0.5,0.7\n" for i in range(count)))


def test_text_formats_hold_a_bounded_number_of_numbers(tmp_cwd):
    _rows(tmp_cwd / "d.csv", 30)  # 30 rows x 88,576 numbers: over 2,000,000
    for args in (["--format", "json"], ["--format", "plain"], ["--out", "r.json"]):
        run = cli("grad", "sin(x*y*z)", "--order", "10", "--data", "d.csv", *args)
        assert_user_error(run, "holds every result in memory as text", "at least 30 rows",
                          "over the limit of 2,000,000", "--format csv", "a lower --order")
    assert not (tmp_cwd / "r.json").exists()
    # CSV streams: every row answers, d10/dx^10 = (yz)^10 sin(xyz + 10 pi/2)
    run = cli("grad", "sin(x*y*z)", "--order", "10", "--data", "d.csv", "--format", "csv")
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 31
    column = lines[0].split(",").index("d10f/dx^10")
    for i, line in enumerate(lines[1:]):
        x, a = 0.3 + i / 100, 0.5 * 0.7
        assert math.isclose(float(line.split(",")[column]),
                            a ** 10 * math.sin(a * x + 5 * math.pi), rel_tol=1e-10)


def test_arrays_hold_a_bounded_number_of_numbers(tmp_cwd):
    # 70 points of 797,164 numbers (orders 0 to 12 over x, y, z): counted whole before
    # the second chunk is computed
    at = ["--at", "x=0.1:0.9:70,y=0.5,z=0.7"]
    for args in (["--out", "r.npz"], ["--out", "r.npy"], ["--format", "table"]):
        run = cli("grad", "sin(x*y*z)", "--order", "12", *at, *args)
        assert_user_error(run, "holds every result in memory as arrays", "70 rows of",
                          "over the limit of 50,000,000")
        assert "at least" not in run.stderr
    assert not (tmp_cwd / "r.npz").exists() and not (tmp_cwd / "r.npy").exists()


def test_the_values_at_gives_every_row_count_too(tmp_cwd):
    # JSON writes a shared --at vector in every row's "at", .npz as rows: 2,000 rows and
    # a 1,000-entry w wrote 4,000,000 numbers past the bound of 2,000,000
    (tmp_cwd / "d.csv").write_text("x\n" + "".join(f"{i / 1000}\n" for i in range(2000)))
    w = "w=[" + ",".join(["1"] * 1000) + "]"
    run = cli("grad", "x*sum(w)", "--wrt", "x", "--data", "d.csv", "--at", w, "--format", "json")
    assert_user_error(run, "holds every result in memory as text", "of 1,003 numbers",
                      "shorter vectors in the points")
    (tmp_cwd / "d.csv").write_text("x\n0.5\n1.5\n")  # and a few rows answer
    doc = cli("grad", "x*sum(w)", "--wrt", "x", "--data", "d.csv", "--at", w,
              "--format", "json").json()
    assert [r["derivatives"]["1"] for r in doc["results"]] == [1000.0, 1000.0]


def test_json_writes_a_tensor_on_one_line():
    run = cli("grad", "x**2*y", "--order", "2", "--at", "x=1,y=2", "--format", "json")
    assert run.code == 0, run.stderr
    assert '        "2": [[4.0, 2.0], [2.0, 0.0]]' in run.stdout.splitlines()
    assert json.loads(run.stdout)["results"][0]["derivatives"]["1"] == [4.0, 1.0]


def test_non_finite_entries_are_null_with_one_warning_an_array():
    warnings: list = []
    got = render.to_jsonable(np.array([[1.0, np.inf], [np.nan, -0.5]]), warnings, "p: d")
    assert isinstance(got, jsontext.Numbers) and got == [[1.0, None], [None, -0.5]]
    assert warnings == ["p: d: 2 entries are not finite (inf, nan)"]
    # a whole tensor of them is one line, not a million
    render.to_jsonable(np.full((2,) * 20, np.nan), warnings, "point 1: derivative 20")
    assert warnings[-1] == "point 1: derivative 20: 1,048,576 entries are not finite (nan)"
    assert render.to_jsonable(np.array([np.nan, 2.0]), warnings, "q") == [None, 2.0]
    assert warnings[-1] == "q is nan (not finite)"
    assert render.to_jsonable(np.float32(np.inf), warnings, "v") is None
    assert warnings[-1] == "v is inf (not finite)"
    assert render.to_jsonable([1, 2.5]) == [1.0, 2.5] and render.to_jsonable(3) == 3.0


_SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=5) | \
    st.floats(allow_nan=False, allow_infinity=False)
_DOCS = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=5), inner, max_size=4), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(_DOCS)
def test_the_layout_is_json_dumps_indent_2_but_for_arrays_of_numbers(doc):
    assert jsontext.dumps(doc) == json.dumps(doc, indent=2, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=5), st.lists(
    st.lists(st.floats(allow_nan=False, allow_infinity=False) | st.none(), max_size=4),
    max_size=4).map(jsontext.Numbers), max_size=4))
def test_arrays_of_numbers_are_one_line_and_read_back(doc):
    text = jsontext.dumps(doc)
    assert json.loads(text) == doc
    assert len(text.splitlines()) == (len(doc) + 2 if doc else 1)


def test_the_collector_is_paused_only_while_writing():
    seen = []
    assert jsontext.text_of(lambda: seen.append(gc.isenabled()) or {"a": 1}) == '{\n  "a": 1\n}'
    assert seen == [False] and gc.isenabled()
