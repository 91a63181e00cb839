"""hessian, jvp-partial and perex through the CLI, from --at points and --data files.

Oracles: the seed values of ../shared/seed-examples.md and closed forms on random data.
"""
from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from conftest import assert_user_error, cli

TD_STOP = "(stop_gradient(r + dot(theta, s)) - dot(theta, p))**2"
THETA = np.array([0.1, -0.1, 0.0])


# ---------------------------------------------------------------- seed 2: Hessian

def test_seed2_hessian_of_dot_x_x():
    doc = cli("hessian", "dot(x, x)", "--at", "[1,2,3]", "--format", "json").json()
    assert doc["command"] == "hessian"
    assert doc["coordinates"] == ["x[0]", "x[1]", "x[2]"]
    assert doc["results"][0]["hessian"] == [[2.0, 0, 0], [0, 2.0, 0], [0, 0, 2.0]]


def test_seed2_hessian_table_is_labelled_by_coordinate():
    run = cli("hessian", "dot(x, x)", "--at", "[1,2,3]")
    assert run.code == 0
    lines = run.stdout.splitlines()
    header = next(line for line in lines if "x[0]" in line and "x[2]" in line)
    assert header.index("x[0]") < header.index("x[1]") < header.index("x[2]")
    assert any(line.split()[:4] == ["x[1]", "│", "0", "│"] for line in lines)


def test_seed2_hvp_without_forming_the_matrix():
    doc = cli("hessian", "dot(x, x)", "--at", "[1,2,3]", "--hvp", "[1,0,-1]",
              "--format", "json").json()
    assert doc["results"][0]["hvp"] == [2.0, 0.0, -2.0]


def test_hvp_on_a_vector_of_length_100000(tmp_cwd):
    # f = sum(x^3) / 3 + x[0] x[1]: H = diag(2x) + (e0 e1' + e1 e0'); the matrix would be
    # 100,000^2 floats = 80 GB, so only a product that never forms it can answer.
    n = 100_000
    rng = np.random.default_rng(7)
    x, v = rng.normal(size=n), rng.normal(size=n)
    np.save("x.npy", x[None, :])
    np.save("v.npy", v)
    run = cli("hessian", "sum(x**3)/3 + x[0]*x[1]", "--data", "x.npy", "--hvp", "v.npy",
              "--out", "hv.npy")
    assert run.code == 0, run
    hv = np.load("hv.npy")[0]
    expected = 2 * x * v
    expected[0] += v[1]
    expected[1] += v[0]
    assert hv.shape == (n,)
    assert np.allclose(hv, expected, rtol=1e-13, atol=1e-13)


def test_hessian_plain_is_one_matrix_row_a_line():
    run = cli("hessian", "x**2*y + y**3", "--at", "x=1,y=2", "--format", "plain")
    # H = [[2y, 2x], [2x, 6y]] = [[4, 2], [2, 12]]
    assert run.stdout.splitlines() == ["4 2", "2 12"]


def test_hessian_over_data_matches_closed_form(tmp_cwd):
    rng = np.random.default_rng(3)
    xy = rng.normal(size=(40, 2))
    with open("pts.csv", "w") as f:
        f.write("x,y\n" + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in xy))
    run = cli("hessian", "x**2*y + y**3", "--data", "pts.csv", "--out", "h.npz")
    assert run.code == 0, run
    with np.load("h.npz") as z:
        h, value = z["hessian"], z["value"]
    x, y = xy[:, 0], xy[:, 1]
    assert np.allclose(h[:, 0, 0], 2 * y) and np.allclose(h[:, 0, 1], 2 * x)
    assert np.allclose(h[:, 1, 0], 2 * x) and np.allclose(h[:, 1, 1], 6 * y)
    assert np.allclose(value, x ** 2 * y + y ** 3)


# ---------------------------------------------------------------- seed 6: per-example grads

def _td_batch(tmp, kind):
    p, s, r = [1.0, 2.0, -1.0], [2.0, 1.0, 0.0], 1.0
    if kind == "npz":
        np.savez(tmp / "batch.npz", p=np.array([p, p]), s=np.array([s, s]))
        return str(tmp / "batch.npz"), ["--at", "theta=[0.1,-0.1,0],r=1"]
    header = "p[0],p[1],p[2],s[0],s[1],s[2],r\n"
    row = ",".join(map(str, p + s + [r])) + "\n"
    (tmp / "batch.csv").write_text(header + row + row)
    return str(tmp / "batch.csv"), ["--at", "theta=[0.1,-0.1,0]"]


@pytest.mark.parametrize("kind", ["npz", "csv"])
def test_seed6_perex_td_batch(tmp_cwd, kind):
    path, at = _td_batch(tmp_cwd, kind)
    doc = cli("perex", TD_STOP, "--wrt", "theta", *at, "--data", path, "--format",
              "json").json()
    assert doc["command"] == "perex"
    assert [r["grad"]["theta"] for r in doc["results"]] == \
        [pytest.approx([-2.4, -4.8, 2.4], rel=1e-12)] * 2


def test_seed6_perex_from_stdin():
    text = "p[0],p[1],p[2],s[0],s[1],s[2]\n1,2,-1,2,1,0\n1,2,-1,2,1,0\n"
    run = cli("perex", TD_STOP, "--wrt", "theta", "--at", "theta=[0.1,-0.1,0],r=1",
              "--data", "-", "--format", "csv", input=text)
    rows = list(csv.reader(io.StringIO(run.stdout)))
    assert rows[0] == ["df/dtheta[0]", "df/dtheta[1]", "df/dtheta[2]"]
    assert [list(map(float, r)) for r in rows[1:]] == [pytest.approx([-2.4, -4.8, 2.4])] * 2


def test_seed6_timing_shows_compile_and_per_example_cost(tmp_cwd):
    path, at = _td_batch(tmp_cwd, "npz")
    run = cli("perex", TD_STOP, "--wrt", "theta", *at, "--data", path, "--timing",
              "--format", "json")
    assert run.code == 0, run
    line = next(x for x in run.stderr.splitlines() if x.startswith("timing:"))
    for text in ("compile", "ms", "per example", "without jit"):
        assert text in line
    t = json.loads(run.stdout)["timing"]
    assert t["rows"] == 2 and t["compile"] > 0 and t["per_row"] > 0 and t["nojit_per_row"] > 0


def test_perex_matches_closed_form_on_random_data(tmp_cwd):
    # L = (w . x - y)^2: dL/dw = 2 (w . x - y) x, for every example
    rng = np.random.default_rng(11)
    n = 1000
    x, y, w = rng.normal(size=(n, 4)), rng.normal(size=n), rng.normal(size=4)
    np.savez("xy.npz", x=x, y=y)
    run = cli("perex", "(dot(w, x) - y)**2", "--wrt", "w", "--at",
              "w=[" + ",".join(repr(float(v)) for v in w) + "]", "--data", "xy.npz",
              "--out", "g.npy")
    assert run.code == 0, run
    expected = 2 * (x @ w - y)[:, None] * x
    assert np.allclose(np.load("g.npy"), expected, rtol=1e-12, atol=1e-12)


def test_perex_parameters_must_come_from_at(tmp_cwd):
    np.savez("d.npz", w=np.ones(3), x=np.ones(3))
    assert_user_error(cli("perex", "w*x", "--wrt", "w", "--data", "d.npz"),
                      "must be given by --at")


def test_perex_needs_data():
    assert_user_error(cli("perex", "w*x", "--wrt", "w", "--at", "w=1,x=2"), "--data")


# ---------------------------------------------------------------- seed 7: one mixed partial

SEED7 = [8.0, 63.0, 168.0, 323.0, 528.0, 783.0]


def _seed7_files(tmp):
    m = np.arange(1, 31, dtype=float).reshape(6, 5)
    np.save(tmp / "m.npy", m)
    np.savez(tmp / "m.npz", x=m)
    header = ",".join(f"x[{i}]" for i in range(5))
    (tmp / "m.csv").write_text(header + "\n" + "\n".join(",".join(map(str, r)) for r in m))
    (tmp / "bare.csv").write_text("\n".join(",".join(map(str, r)) for r in m) + "\n")
    return m


@pytest.mark.parametrize("name", ["m.npy", "m.npz", "m.csv", "bare.csv"])
def test_seed7_mixed_partial_over_rows(tmp_cwd, name):
    _seed7_files(tmp_cwd)
    doc = cli("jvp-partial", "prod(x)", "--indices", "0,2,4", "--data", name,
              "--format", "json").json()
    assert doc["indices"] == [0, 2, 4]
    # jvp-partial's own number is "partial"; "value" is f, as in every command
    assert [r["partial"] for r in doc["results"]] == SEED7
    assert [r["value"] for r in doc["results"]] == [float(np.prod(r)) for r in
                                                     np.arange(1, 31).reshape(6, 5)]
    assert doc["results"][5]["at"] == {"x": [26.0, 27.0, 28.0, 29.0, 30.0]}


def test_seed7_plain_and_out(tmp_cwd):
    _seed7_files(tmp_cwd)
    run = cli("jvp-partial", "prod(x)", "--indices", "0,2,4", "--data", "m.npy",
              "--format", "plain")
    assert run.stdout.split() == ["8", "63", "168", "323", "528", "783"]
    assert cli("jvp-partial", "prod(x)", "--indices", "0,2,4", "--data", "m.npy",
               "--out", "d.npy").code == 0
    assert np.load("d.npy").tolist() == SEED7


@pytest.mark.parametrize("indices", ["x[0],x[2],x[4]", "4,2,0", "x[4],0,x[2]"])
def test_jvp_partial_named_and_reordered_indices(indices):
    doc = cli("jvp-partial", "prod(x)", "--indices", indices, "--at", "[1,2,3,4,5]",
              "--format", "json").json()
    assert doc["results"][0]["partial"] == 8.0 and doc["results"][0]["value"] == 120.0


@pytest.mark.parametrize("indices, expected", [
    ("x,y,y", 12.0),   # d/dx (3 x^2 y) = 6 x y
    ("x,x", 8.0),      # y^3
    ("y,y,y", 3.0),    # 3 x^2
])
def test_jvp_partial_repeated_indices(indices, expected):
    # f = x^2 y^3 / 2 at x=1, y=2
    doc = cli("jvp-partial", "x**2*y**3/2", "--indices", indices, "--at", "x=1,y=2",
              "--format", "json").json()
    assert doc["results"][0]["partial"] == expected and doc["results"][0]["value"] == 4.0


def test_jvp_partial_random_data_against_closed_form(tmp_cwd):
    # d3/dx0 dx2 dx4 prod(x) = x1 x3 (for n = 5): 10,000 random rows
    rng = np.random.default_rng(5)
    x = rng.normal(size=(10_000, 5))
    np.save("x.npy", x)
    assert cli("jvp-partial", "prod(x)", "--indices", "0,2,4", "--data", "x.npy",
               "--out", "d.npy").code == 0
    assert np.allclose(np.load("d.npy"), x[:, 1] * x[:, 3], rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------- grad over data, chunks

def test_grad_over_csv_data_in_order(tmp_cwd):
    xs = np.linspace(-1, 1, 25)
    (tmp_cwd / "x.csv").write_text("x\n" + "\n".join(repr(float(v)) for v in xs) + "\n")
    doc = cli("grad", "sin(x)", "--order", "3", "--data", "x.csv", "--format", "json").json()
    got = np.array([[r["derivatives"][k] for k in "123"] for r in doc["results"]])
    assert np.allclose(got, np.stack([np.cos(xs), -np.sin(xs), -np.cos(xs)], 1), rtol=1e-14)
    assert [r["at"]["x"] for r in doc["results"]] == xs.tolist()


def test_chunks_are_padded_and_rejoined_in_order(tmp_cwd, monkeypatch):
    from autodx import batch

    monkeypatch.setattr(batch, "MAX_CHUNK", 7)  # 50 rows: 8 chunks, the last one padded
    x = np.arange(50.0)
    np.save("x.npy", x)
    assert cli("grad", "x**3", "--data", "x.npy", "--out", "g.npz").code == 0
    with np.load("g.npz") as z:
        assert z["d1"].tolist() == (3 * x ** 2).tolist()
        assert z["value"].tolist() == (x ** 3).tolist()


def test_at_values_are_shared_by_every_row(tmp_cwd):
    (tmp_cwd / "x.csv").write_text("x\n1\n2\n3\n")
    doc = cli("grad", "a*x**2", "--data", "x.csv", "--at", "a=10", "--wrt", "x",
              "--format", "json").json()
    assert [r["derivatives"]["1"] for r in doc["results"]] == [20.0, 40.0, 60.0]
    assert doc["results"][0]["at"] == {"a": 10.0, "x": 1.0}


# ---------------------------------------------------------------- data errors

DATA_ERRORS = [
    ("ragged.csv", "x,y\n1,2\n3\n", ["x*y"], "ragged.csv, line 3: 1 fields where the header has 2"),
    ("text.csv", "x,y\n1,2\n3,abc\n", ["x*y"], "text.csv, line 3, column 2: 'abc' is not a number"),
    # a column that is no variable is ignored with a warning (issue 11): a typo of a
    # needed one is still an error, and names the columns the file has
    ("unknown.csv", "x,q\n1,2\n", ["x*y"], "unknown.csv: no column for y"),
    ("missing.csv", "x\n1\n", ["x*y"], "no column for y"),
    ("gap.csv", "v[0],v[2]\n1,2\n", ["sum(v)"], "no column v[1]"),
    ("short.csv", "v[0],v[1]\n1,2\n", ["v[2]"], "index 2 is out of range"),
    ("scalar.csv", "v\n1\n", ["sum(v)"], "v is a vector"),
    ("empty.csv", "", ["x"], "empty.csv: the file is empty"),
    ("header.csv", "x\n", ["x"], "no rows"),
    ("both.csv", "x,a\n1,2\n", ["a*x", "--at", "a=1"], "a is given by --at too"),
    ("bare2.csv", "1,2\n", ["x*y"], "add a header line"),
]


@pytest.mark.parametrize("name, text, args, message", DATA_ERRORS,
                         ids=[e[0] for e in DATA_ERRORS])
def test_data_file_errors(tmp_cwd, name, text, args, message):
    (tmp_cwd / name).write_text(text)
    run = cli("grad", *args, "--data", name, "--out", "out.json")
    assert_user_error(run, message)
    assert not (tmp_cwd / "out.json").exists()


def test_missing_file_and_folder(tmp_cwd):
    assert_user_error(cli("grad", "x", "--data", "nope.csv"), "nope.csv: no such file")
    (tmp_cwd / "dir.csv").mkdir()
    assert_user_error(cli("grad", "x", "--data", "dir.csv"), "is a folder")


def test_unreadable_numpy_files(tmp_cwd):
    (tmp_cwd / "bad.npy").write_bytes(b"not numpy at all")
    assert_user_error(cli("grad", "x", "--data", "bad.npy"), "bad.npy")
    np.save("obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert_user_error(cli("grad", "x", "--data", "obj.npy"), "obj.npy")
    np.save("cube.npy", np.zeros((2, 2, 2)))
    assert_user_error(cli("grad", "x", "--data", "cube.npy"), "shape")
    np.savez("uneven.npz", x=np.zeros(3), y=np.zeros(4))
    assert_user_error(cli("grad", "x*y", "--data", "uneven.npz"), "different numbers of rows")
    np.savez("extra.npz", x=np.zeros(3), z=np.zeros(3))
    assert_user_error(cli("grad", "x", "--data", "extra.npz"), "unknown array 'z'")


def test_index_errors():
    assert_user_error(cli("jvp-partial", "prod(x)", "--indices", "0,7", "--at", "[1,2,3]"),
                      "7 is out of range")
    assert_user_error(cli("jvp-partial", "prod(x)", "--indices", "q", "--at", "[1,2,3]"),
                      "'q' is not a coordinate")
    assert_user_error(cli("jvp-partial", "prod(x)", "--at", "[1,2,3]"), "--indices")
    # more digits than Python's int() takes: still out of range, one line
    assert_user_error(cli("jvp-partial", "prod(x)", "--indices", "1" * 5000, "--at",
                          "[1,2,3]"), "--indices: 111111111111... (5,000 digits) is out of")
    assert_user_error(cli("hessian", "dot(x,x)", "--at", "[1,2]", "--hvp", "[1,2,3]"),
                      "length 3")
    assert_user_error(cli("hessian", "dot(x,x)", "--at", "[1,2]", "--hvp", "nofile.npy"),
                      "--hvp")
