"""CSV results are streamed: written chunk by chunk as the rows are computed, with the
same numbers, rows and warnings as the whole result, and never a half-written file."""
from __future__ import annotations

import csv
import io
import json
import math
import os
import select
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import assert_user_error, cli

ROWS = 70_000  # more than one chunk (batch.MAX_CHUNK is 65,536 rows)


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=ROWS), rng.normal(size=ROWS)
    path = tmp_path_factory.mktemp("stream") / "d.csv"
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", header="x,y", comments="",
               fmt="%.17g")
    return str(path), x, y


def _rows(text: str) -> tuple[list[str], np.ndarray]:
    table = list(csv.reader(io.StringIO(text)))
    return table[0], np.array(table[1:], dtype=float)


def test_streamed_csv_holds_every_row_in_order_with_exact_values(data_file):
    path, x, y = data_file
    run = cli("grad", "sin(x)*y", "--data", path, "--format", "csv")
    assert run.code == 0, run
    header, rows = _rows(run.stdout)
    assert header == ["x", "y", "f", "df/dx", "df/dy"]
    assert rows.shape == (ROWS, 5)
    assert np.array_equal(rows[:, 0], x) and np.array_equal(rows[:, 1], y)
    np.testing.assert_allclose(rows[:, 2], np.sin(x) * y, rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(rows[:, 3], np.cos(x) * y, rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(rows[:, 4], np.sin(x), rtol=1e-15, atol=1e-300)


@pytest.mark.parametrize("args", [
    ["hessian", "x**2*y"], ["jvp-partial", "x**2*y", "--indices", "x,y"],
    ["jacobian", "[x*y, x/y]"], ["perex", "(w*x - y)**2", "--wrt", "w", "--at", "w=0.5"],
])
def test_every_command_streams_what_it_would_write_whole(data_file, tmp_path, args):
    """--out r.csv (streamed into a temporary file) equals the CSV of the JSON result."""
    path, x, y = data_file
    out = tmp_path / "r.csv"
    run = cli(*args, "--data", path, "--out", str(out))
    assert run.code == 0, run
    assert run.stderr.strip().splitlines()[-1] == f"wrote {ROWS} results to {out}"
    header, rows = _rows(out.read_text())
    assert rows.shape[0] == ROWS
    whole = cli(*args, "--data", path, "--format", "json").json()
    first, last = whole["results"][0], whole["results"][-1]
    key = {"hessian": "hessian", "jvp-partial": "partial", "jacobian": "jacobian",
           "perex": "grad"}[args[0]]
    for row, item in ((rows[0], first), (rows[-1], last)):
        want = item[key]["w"] if args[0] == "perex" else item[key]
        assert np.ravel(want)[-1] == row[-1]


def test_warnings_count_every_chunk(data_file):
    """log(x) is not finite wherever x <= 0: the streamed warning counts all rows of
    every chunk, as the whole result's does."""
    path, x, _ = data_file
    streamed = cli("grad", "log(x)*y", "--data", path, "--format", "csv")
    whole = cli("grad", "log(x)*y", "--data", path, "--format", "json")
    assert streamed.code == whole.code == 0
    lines = [w for w in streamed.stderr.splitlines() if w.startswith("warning:")]
    assert lines and lines == [w for w in whole.stderr.splitlines() if w.startswith("warning:")]
    assert f"at {int((x <= 0).sum())} of {ROWS} points" in lines[0]


def test_a_bad_row_late_in_the_file_leaves_no_out_file(data_file, tmp_path):
    path, _, _ = data_file
    bad = tmp_path / "bad.csv"
    with open(path) as f:
        text = f.read().splitlines()
    text.insert(ROWS - 10, "1,2,3")  # a ragged line in the second chunk
    bad.write_text("\n".join(text) + "\n")
    out = tmp_path / "r.csv"
    run = cli("grad", "x*y", "--data", str(bad), "--out", str(out))
    assert_user_error(run, "line")
    assert not out.exists() and os.listdir(tmp_path) == ["bad.csv"]


def test_rows_appear_before_the_input_ends():
    """A real process reading CSV from a pipe: the first chunk's rows are on stdout while
    stdin is still open (the answer to `tail -f`-like pipelines), and the rest follow
    once it closes."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    p = subprocess.Popen([sys.executable, "-m", "autodx", "grad", "x*y", "--data", "-",
                          "--format", "csv"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        p.stdin.write(b"x,y\n" + b"".join(b"%d,2\n" % i for i in range(ROWS)))
        p.stdin.flush()
        deadline, got = time.monotonic() + 120, b""
        while b"\n" not in got and time.monotonic() < deadline:
            ready, _, _ = select.select([p.stdout], [], [], 1.0)
            if ready:
                got += os.read(p.stdout.fileno(), 1 << 16)
        assert got.startswith(b"x,y,f,df/dx,df/dy\n"), (got[:200], p.poll())
        assert p.poll() is None  # still running: stdin is open
        rest, err = p.communicate(b"1.5,4\n", timeout=120)  # then stdin closes
    finally:
        if p.poll() is None:
            p.kill()
    lines = (got + rest).decode().splitlines()
    assert p.returncode == 0, err
    assert len(lines) == ROWS + 2 and lines[-1] == "1.5,4.0,6.0,4.0,1.5"
    assert lines[1 + 12345] == "12345.0,2.0,24690.0,2.0,12345.0"


def test_the_executor_keeps_nothing_when_streaming():
    from autodx import api

    e = api.expression("x*y")
    chunks = []
    plan = api.plan(e, ["x=0:1:5,y=-1:1:3"])
    result = api.grad_rows(e, plan, 1, stream=chunks.append)
    assert result.values == {} and result.rows.count == 15 and result.rows.batched is None
    got = np.concatenate([c.values["value"] for c in chunks])
    want = [a * b for a in np.linspace(0, 1, 5) for b in np.linspace(-1, 1, 3)]
    assert np.array_equal(got, want) and math.isclose(sum(c.rows.count for c in chunks), 15)
    assert json.dumps(chunks[0].coordinates) == '["x", "y"]'
