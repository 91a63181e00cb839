"""Points, data files and output files, below the CLI."""
from __future__ import annotations

import math
import os
import re
import time

import numpy as np
import pytest

from autodx import data, datafiles, limits, outfile, vectors
from autodx.errors import DataError, InputError
from conftest import assert_user_error, cli


@pytest.mark.parametrize("text, expected", [
    ("1.5", {None: 1.5}),
    ("[1,2,3]", {None: [1.0, 2.0, 3.0]}),
    ("x=1,y=2", {"x": 1.0, "y": 2.0}),
    ("theta=[0.1,-0.1,0],r=1", {"theta": [0.1, -0.1, 0.0], "r": 1.0}),
    (" x = -1e-3 , v = [ 1 , 2 ] ", {"x": -0.001, "v": [1.0, 2.0]}),
    # constant expressions, by the safe parser; closed forms are the oracle
    ("pi/2", {None: math.pi / 2}),
    ("x=2*pi,y=sqrt(2)", {"x": 2 * math.pi, "y": math.sqrt(2)}),
    ("[pi, 2*pi]", {None: [math.pi, 2 * math.pi]}),
    ("v=[1, atan2(1, 2), -E],r=exp(1)", {"v": [1.0, math.atan2(1, 2), -math.e],
                                          "r": math.exp(1)}),
    ("x=(1+2)*3", {"x": 9.0}),
    ("x=ln(0)", {"x": -math.inf}),
    ("x=1/0", {"x": math.inf}),  # float arithmetic, as in an expression (1/0*x is inf)
])
def test_parse_at(text, expected):
    got = {k: v.tolist() for k, v in data.parse_at(text).items()}
    assert list(got) == list(expected)
    for k, v in expected.items():  # exp(1) by XLA may be an ulp from math.e
        np.testing.assert_allclose(got[k], v, rtol=1e-15, atol=0)


@pytest.mark.parametrize("text, message", [
    ("x=", "is not a number"), ("x=1,x=2", "twice"), ("1,2", "NAME=VALUE"),
    ("[1,,2]", "not a number"), ("[]", "empty"), ("x=[1,2", "brackets"),
    ("x=abc", "not a number"), ("x=1;y=2", "not a number"),
    ("x=2*y", "'2*y' is not a number: y is a variable, not a constant"),
    ("[1, t]", "'t' is not a number: t is a variable"),
    ("e", "e is a variable, not a constant (Euler's number is E)"),
    ("x=sin(", "not a number nor a constant expression"),
    ("x=nosuch(1)", "not a number nor a constant expression"),
])
def test_parse_at_errors(text, message):
    with pytest.raises(InputError, match=re.escape(message)):
        data.parse_at(text)


def test_plain_numbers_stay_fast():
    """A number never reaches the parser (nor JAX): --at stays as quick as it was."""
    start = time.perf_counter()
    for _ in range(2000):
        data.parse_at("x=1.5,v=[1,2,3],y=-2e-3")
    assert time.perf_counter() - start < 1.0


AT_CONSTANTS = [  # (expression, --at, f, df/dx at the point): closed forms
    ("sin(x)", "pi/2", 1.0, 0.0),
    ("x*y", "x=2*pi,y=sqrt(2)", 2 * math.pi * math.sqrt(2), math.sqrt(2)),
    ("x", "x=-E", -math.e, 1.0),
]


@pytest.mark.parametrize("expr, at, f, dfdx", AT_CONSTANTS)
def test_at_constant_expressions_through_the_cli(expr, at, f, dfdx):
    from conftest import cli

    doc = cli("grad", expr, "--at", at, "--format", "json").json()
    result = doc["results"][0]
    assert result["value"] == pytest.approx(f, abs=1e-15)
    d = result["derivatives"]["1"]
    assert (d if np.ndim(d) == 0 else d[0]) == pytest.approx(dfdx, abs=1e-15)


def test_at_vector_constants_with_data(tmp_cwd):
    from conftest import cli

    (tmp_cwd / "d.csv").write_text("x\n1\n2\n")
    run = cli("grad", "dot(w, w)*x", "--data", "d.csv", "--at", "w=[pi, 2*pi]", "--wrt", "x",
              "--format", "json")
    assert [r["derivatives"]["1"] for r in run.json()["results"]] == [
        pytest.approx(5 * math.pi ** 2)] * 2


@pytest.mark.parametrize("args, fragment", [
    (["x*y", "--at", "x=2*y,y=1"], "y is a variable, not a constant"),
    (["x", "--at", "e"], "Euler's number is E"),
    (["x", "--at", "[1, t]"], "t is a variable"),
])
def test_a_variable_in_a_point_is_one_error_line(args, fragment):
    from conftest import assert_user_error, cli

    assert_user_error(cli("grad", *args), fragment)


def test_check_point_orders_names_and_checks_vectors():
    point = data.check_point(data.parse_at("y=2,x=[1,2]"), ["x", "y"], {"x": "indexed"})
    assert list(point) == ["x", "y"]
    with pytest.raises(InputError, match="is a vector"):
        data.check_point(data.parse_at("x=1,y=2"), ["x", "y"], {"x": "indexed"})


def test_read_vector_from_text_and_files(tmp_path):
    assert vectors.read_vector("[1, 2]", "--hvp").tolist() == [1.0, 2.0]
    (tmp_path / "v.txt").write_text("1 2\n3,4\n")
    assert vectors.read_vector(str(tmp_path / "v.txt"), "--hvp").tolist() == [1, 2, 3, 4]
    np.save(tmp_path / "v.npy", np.arange(3.0))
    assert vectors.read_vector(str(tmp_path / "v.npy"), "--hvp").tolist() == [0, 1, 2]
    with pytest.raises(InputError):
        vectors.read_vector(str(tmp_path / "missing.npy"), "--hvp")


def _rows(source, size):
    return [{k: v.tolist() for k, v in chunk.items()} for chunk in source.chunks(size)]


def test_csv_columns_in_any_order_and_chunks(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("v[1],a,v[0]\n1,2,3\n4,5,6\n\n7,8,9\n")
    source = datafiles.open_source(str(path), ["a", "v"], {}, [])
    assert source.layout == {"a": None, "v": 2}
    assert _rows(source, 2) == [{"a": [2.0, 5.0], "v": [[3.0, 1.0], [6.0, 4.0]]},
                                {"a": [8.0], "v": [[9.0, 7.0]]}]


def test_csv_error_line_numbers_count_every_line(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x\n" + "1\n" * 10 + "oops\n")
    source = datafiles.open_source(str(path), ["x"], {}, [])
    with pytest.raises(DataError, match=r"line 12, column 1: 'oops'"):
        _rows(source, 4)


def test_npy_is_memory_mapped_and_sliced(tmp_path):
    np.save(tmp_path / "x.npy", np.arange(10.0).reshape(5, 2))
    source = datafiles.open_source(str(tmp_path / "x.npy"), ["x"], {}, [])
    assert source.total == 5 and source.layout == {"x": 2}
    assert [len(c["x"]) for c in source.chunks(2)] == [2, 2, 1]


def test_atomic_write_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "out.npy"

    def half(tmp):
        with open(tmp, "wb") as f:
            f.write(b"partial")
        raise RuntimeError("interrupted")
    with pytest.raises(RuntimeError):
        outfile.write_atomic(str(target), half)
    assert os.listdir(tmp_path) == []


def test_atomic_write_replaces_only_when_complete(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")

    def fails(tmp):
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        outfile.write_atomic(str(target), fails)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["out.txt"]


def test_an_npz_larger_than_half_the_memory_is_refused_before_loading(tmp_cwd, monkeypatch):
    """An .npz is loaded whole; one that would not fit gets an error, not a MemoryError."""
    from conftest import assert_user_error, cli

    np.savez("big.npz", x=np.ones(1000))  # 8,000 bytes unpacked
    monkeypatch.setattr(datafiles, "memory_limit", lambda: 4000)
    assert_user_error(cli("perex", "(w*x)**2", "--wrt", "w", "--at", "w=1", "--data",
                          "big.npz"), "big.npz", "unpack to", ".npy")
    monkeypatch.setattr(datafiles, "memory_limit", lambda: 10_000)
    run = cli("perex", "(w*x)**2", "--wrt", "w", "--at", "w=1", "--data", "big.npz",
              "--format", "plain")
    assert run.code == 0 and run.stdout.splitlines()[0] == "2"


# ---------------------------------------------------------------- ranges (see test_ranges)

@pytest.mark.parametrize("text, expected", [
    ("x=0:1:11", {"x": (0.0, 1.0, 11)}),
    ("0:1:11", {None: (0.0, 1.0, 11)}),
    ("-1:1:5", {None: (-1.0, 1.0, 5)}),
    ("y=2, x = 0 : pi : 05", {"y": 2.0, "x": (0.0, math.pi, 5)}),  # written order kept
    ("x=2*pi:-E:3,v=[1,2]", {"x": (2 * math.pi, -math.e, 3), "v": [1.0, 2.0]}),
])
def test_parse_at_ranges(text, expected):
    got = data.parse_at(text)
    assert list(got) == list(expected)
    for k, v in expected.items():
        if isinstance(v, tuple):
            assert isinstance(got[k], data.Range)
            assert (got[k].start, got[k].stop, got[k].count) == pytest.approx(v, rel=1e-15)
        else:
            assert got[k].tolist() == v


def test_a_range_is_numpy_linspace():
    r = data.parse_at("x=-1:2:7")["x"]
    assert r.values().tolist() == np.linspace(-1, 2, 7).tolist()
    assert r.values()[0] == -1.0 and r.values()[-1] == 2.0


def test_points_are_columns_that_chunks_slice():
    plan = data.points_plan(["x", "y", "z"], {"z": "indexed"},
                            ["x=0:1:3,y=0:1:2,z=[1,2]", "x=5,y=6,z=[3,4]"])
    assert plan.total == 7 and plan.layout == {"x": None, "y": None, "z": 2}
    xs, ys = np.linspace(0, 1, 3), np.linspace(0, 1, 2)
    assert plan.columns["x"].tolist() == [x for x in xs for _ in ys] + [5.0]
    assert plan.columns["y"].tolist() == [y for _ in xs for y in ys] + [6.0]
    assert plan.columns["z"].tolist() == [[1.0, 2.0]] * 6 + [[3.0, 4.0]]
    chunks = list(plan.chunks(3))
    assert [len(c["x"]) for c in chunks] == [3, 3, 1]
    assert all(np.shares_memory(c["x"], plan.columns["x"]) for c in chunks)


def test_a_million_point_grid_is_built_in_milliseconds_and_compiled_normally():
    start = time.perf_counter()
    plan = data.points_plan(["x", "y"], {}, ["x=0:1:1000,y=0:1:1000"])
    seconds = time.perf_counter() - start
    assert plan.total == 1_000_000 and seconds < 0.5, seconds
    assert plan.columns["x"][1000] == np.linspace(0, 1, 1000)[1]
    assert plan.columns["y"][1001] == np.linspace(0, 1, 1000)[1]
    assert not plan.quick  # a big plan is compiled with XLA's optimisations
    assert data.points_plan(["x"], {}, ["1", "2"]).quick


def test_a_fixed_value_beside_a_range_is_not_copied_per_point():
    plan = data.points_plan(["x", "z"], {"z": "indexed"}, ["x=0:1:1000000,z=[1,2,3]"])
    assert plan.columns["z"].shape == (1_000_000, 3)
    assert plan.columns["z"].strides[0] == 0  # a broadcast view


def test_noise_rows_follow_each_point():
    """noise.shifted on columns: each point, then four copies with the differentiated
    variable moved by SHIFTS units in the last place (of float64 here)."""
    from autodx import noise

    plan = data.points_plan(["x", "y"], {}, ["x=0.5:3:3,y=2"])
    shifted = noise.shifted(plan, "x", 64)
    step = len(noise.SHIFTS) + 1
    assert shifted.total == 3 * step
    for i, x in enumerate(np.linspace(0.5, 3, 3)):
        rows = shifted.columns["x"][i * step:(i + 1) * step]
        ulp = np.spacing(max(abs(x), 1.0))
        assert rows.tolist() == [x] + [x + s * ulp for s in noise.SHIFTS]
    assert shifted.columns["y"].tolist() == [2.0] * 3 * step


# ---------------------------------------------------------------- --hvp FILE, hostile

@pytest.mark.parametrize("make, fragment", [
    (lambda d: "/dev/zero", "character device"),
    (lambda d: str(d), "is a folder"),
    (lambda d: (os.mkfifo(d / "v.fifo"), str(d / "v.fifo"))[1], "not a regular file"),
    (lambda d: (d.joinpath("v.npy").write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f8"),
                str(d / "v.npy"))[1], "cannot be read as numbers"),
    (lambda d: (d.joinpath("v.txt").write_text("1, 2, __import__"), str(d / "v.txt"))[1],
     "is not a number"),
])
def test_an_hvp_file_that_is_not_a_vector_is_one_error_line(tmp_path, make, fragment):
    from conftest import assert_user_error, cli

    run = cli("hessian", "x*y", "--at", "x=1,y=2", "--hvp", make(tmp_path))
    assert_user_error(run, fragment)


def test_an_hvp_text_file_past_the_bound_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(vectors, "MAX_VECTOR_TEXT", 100)
    path = tmp_path / "v.txt"
    path.write_text("1.0, " * 40)
    with pytest.raises(InputError, match="save a vector this long as .npy"):
        vectors.read_vector(str(path), "--hvp")
    path.write_text("1.0, 2.5")
    assert vectors.read_vector(str(path), "--hvp").tolist() == [1.0, 2.5]


def test_json_holds_a_bounded_number_of_rows(tmp_cwd, monkeypatch):
    # JSON turns every number into a Python object before writing (1,000,000 rows of
    # grad "x*y" took 39 s and 2.9 GB): past the bound it is refused, before the work
    # where the rows are counted first, as soon as the bound is passed for a stream
    monkeypatch.setattr(limits, "MAX_HELD_ROWS", 10)
    rows = "x,y\n" + "".join(f"{i},{i + 1}\n" for i in range(11))
    (tmp_cwd / "d.csv").write_text(rows)
    for args in (["--data", "d.csv", "--format", "json"], ["--data", "d.csv", "--out", "r.json"],
                 ["--at", "x=0:1:11,y=2", "--format", "json"]):
        assert_user_error(cli("grad", "x*y", *args), "holds every result in memory",
                          "more than 10 rows", "--format csv")
    assert not (tmp_cwd / "r.json").exists()
    assert_user_error(cli("grad", "x*y", "--data", "-", "--format", "json", input=rows),
                      "more than 10 rows")
    # ten rows answer; CSV and .npz have no bound on rows (only .npz on numbers)
    (tmp_cwd / "t.csv").write_text("x,y\n" + "".join(f"{i},2\n" for i in range(10)))
    doc = cli("grad", "x*y", "--data", "t.csv", "--format", "json").json()
    assert [r["derivatives"]["1"] for r in doc["results"]] == [[2.0, float(i)] for i in range(10)]
    csv = cli("grad", "x*y", "--data", "d.csv", "--format", "csv")
    assert csv.code == 0 and len(csv.stdout.splitlines()) == 12
    assert cli("grad", "x*y", "--data", "d.csv", "--out", "r.npz").code == 0


def test_an_at_value_past_the_text_bound_is_refused_before_parsing(monkeypatch):
    # an `autodx shell` line has no argv limit: 113,000,000 characters of --at took over
    # 12 s and 1.2 GB to parse
    monkeypatch.setattr(data, "MAX_AT_TEXT", 1000)
    text = "y=[" + ",".join(["1"] * 600) + "]"
    with pytest.raises(InputError, match="1,203 characters, over the limit of 1,000"):
        data.parse_at(text)
    assert_user_error(cli("grad", "sum(y)", "--at", text), "over the limit of 1,000",
                      "--data")
    monkeypatch.setattr(data, "MAX_AT_TEXT", 10_000)
    assert data.parse_at(text)["y"].tolist() == [1.0] * 600
