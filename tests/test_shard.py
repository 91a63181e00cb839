"""--devices all|N: a batch's rows split over several local devices give the bytes one
device gives, in input order.

Several devices on this CPU-only machine are JAX's forced host devices
(XLA_FLAGS=--xla_force_host_platform_device_count=4), which must be set before JAX
starts: the commands run in one subprocess (through typer's CliRunner, as the
``cli`` helper does), and this process compares their files and text and checks every
number against its closed form.
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

from conftest import Run, assert_user_error, cli

from autodx.device import MAX_DEVICES, check_devices
from autodx.errors import InputError

ROWS = 3001  # a prime: no chunk and no device count divides it
CHUNK = 64  # rows per chunk in the subprocess, so that a file is many chunks

# Runs each command (argv lists read from stdin as JSON) with 4 forced host devices and
# small chunks, and prints [status, stdout, stderr] for each.
_RUNNER = f"""
import json, sys
from typer.testing import CliRunner
from autodx import batch, shard
batch.MAX_CHUNK = {CHUNK}
from autodx.cli import app
import jax
assert len(jax.devices("cpu")) == 4, jax.devices()
spreads = []
program = shard.Spread.program
def counted(self, *args):  # how many devices each compile was spread over
    spreads.append(self.count)
    return program(self, *args)
shard.Spread.program = counted
out = []
for argv in json.load(sys.stdin):
    spreads.clear()
    r = CliRunner().invoke(app, argv)
    out.append([r.exit_code, r.stdout, r.stderr, sorted(set(spreads))])
print(json.dumps(out))
"""


def _run_with_four_devices(commands: list[list[str]], cwd) -> list[tuple[Run, list]]:
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
               AUTODX_SERVER="off", JAX_PLATFORMS="cpu")
    p = subprocess.run([sys.executable, "-c", _RUNNER], input=json.dumps(commands),
                       capture_output=True, text=True, env=env, cwd=cwd, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    return [(Run(*r[:3]), r[3]) for r in json.loads(p.stdout.strip().splitlines()[-1])]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every command once on one device and with --devices all, 4 and 3, each writing
    an .npz file; CSV on stdout (written chunk by chunk as it is computed) beside."""
    folder = tmp_path_factory.mktemp("shard")
    rng = np.random.default_rng(15)
    x, y = rng.uniform(-2, 2, ROWS), rng.uniform(0.5, 2, ROWS)
    with open(folder / "xy.csv", "w") as f:
        f.write("x,y\n" + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(x, y)))
    commands = {
        "grad": ["grad", "sin(x)*exp(x)", "--order", "3", "--data", "xy.csv"],
        # where XLA's own partitioning of the program changed last bits (see shard.py)
        "headline": ["grad", "sin(x)*exp(x)/(1+x**2)", "--order", "5", "--data", "xy.csv"],
        "hessian": ["hessian", "x**2*y + y**3", "--data", "xy.csv"],
        "jvp": ["jvp-partial", "x**2*y**3", "--indices", "x,y,y", "--data", "xy.csv"],
        "perex": ["perex", "(w*x - y)**2", "--wrt", "w", "--at", "w=0.5", "--data",
                  "xy.csv"],
        "jacobian": ["jacobian", "[x*y, sin(x)]", "--data", "xy.csv"],
        "points": ["grad", "x**3", "--at", "x=0:1:7"],
    }
    spreads = {"one": [], "all": ["--devices", "all"], "4": ["--devices", "4"],
               "3": ["--devices", "3"]}
    argv, keys = [], []
    for name, command in commands.items():
        for spread, option in spreads.items():
            argv.append([*command, *option, "--out", f"{name}-{spread}.npz"])
            keys.append((name, spread, "npz"))
            argv.append([*command, *option, "--format", "csv"])
            keys.append((name, spread, "csv"))
    argv.append(["grad", "x**2", "--data", "xy.csv", "--devices", "5"])
    keys.append(("too many", "5", "csv"))
    ran = _run_with_four_devices(argv, folder)
    done = {k: r for k, (r, _) in zip(keys, ran)}
    counts = {k: c for k, (_, c) in zip(keys, ran)}
    return folder, x, y, done, list(commands), list(spreads), counts


def _npz(folder, name: str, spread: str) -> dict:
    with np.load(folder / f"{name}-{spread}.npz") as z:
        return {k: z[k] for k in z.files}


def test_every_command_writes_the_same_bytes_on_several_devices(runs):
    folder, _, _, done, commands, spreads, counts = runs
    for name in commands:
        assert [counts[(name, s, "npz")] for s in spreads] == [[], [4], [4], [3]], name
        for spread in spreads:
            for kind in ("npz", "csv"):
                assert done[(name, spread, kind)].code == 0, done[(name, spread, kind)]
        one = _npz(folder, name, "one")
        for spread in spreads[1:]:
            other = _npz(folder, name, spread)
            assert sorted(other) == sorted(one)
            for k in one:  # every bit of every number, in the same order
                assert other[k].dtype == one[k].dtype and other[k].shape == one[k].shape
                assert other[k].tobytes() == one[k].tobytes(), (name, spread, k)
            assert done[(name, spread, "csv")].stdout == done[(name, "one", "csv")].stdout
        assert done[(name, "one", "csv")].stdout.count("\n") == \
            (7 if name == "points" else ROWS) + 1


def test_the_numbers_are_right_in_input_order(runs):
    """Closed forms, row by row, on the results of the spread runs."""
    folder, x, y, _, _, _, _ = runs
    g = _npz(folder, "grad", "3")
    e, s, c = np.exp(x), np.sin(x), np.cos(x)
    assert np.allclose(g["value"], s * e, rtol=1e-13, atol=1e-15)
    assert np.allclose(g["d1"], e * (s + c), rtol=1e-13, atol=1e-15)
    assert np.allclose(g["d2"], 2 * e * c, rtol=1e-13, atol=1e-14)
    assert np.allclose(g["d3"], 2 * e * (c - s), rtol=1e-13, atol=1e-14)
    assert np.array_equal(g["at_x"], x)
    h = _npz(folder, "hessian", "4")["hessian"]
    assert np.allclose(h, np.stack([np.stack([2 * y, 2 * x], -1),
                                    np.stack([2 * x, 6 * y], -1)], -2), rtol=1e-14)
    assert np.allclose(_npz(folder, "jvp", "all")["partial"], 12 * x * y, rtol=1e-14)
    assert np.allclose(_npz(folder, "perex", "3")["grad"][:, 0], 2 * (0.5 * x - y) * x,
                       rtol=1e-14)
    j = _npz(folder, "jacobian", "3")["jacobian"]
    assert np.allclose(j, np.stack([np.stack([y, x], -1),
                                    np.stack([c, 0 * x], -1)], -2), rtol=1e-14)
    sym = sp.Symbol("x")
    f = sp.sin(sym) * sp.exp(sym) / (1 + sym ** 2)
    d5 = sp.lambdify(sym, sp.diff(f, sym, 5), "mpmath")
    headline = _npz(folder, "headline", "3")["d5"]
    for i in range(0, ROWS, 150):  # 21 rows, at 30 digits
        with mpmath.workdps(30):
            assert math.isclose(headline[i], float(d5(mpmath.mpf(float(x[i])))),
                                rel_tol=1e-12, abs_tol=1e-12)
    p = _npz(folder, "points", "4")  # 7 points padded to 8, and to 9 on 3 devices
    t = np.linspace(0, 1, 7)
    assert np.allclose(p["d1"], 3 * t ** 2, rtol=1e-15) and np.array_equal(p["at_x"], t)
    assert np.allclose(_npz(folder, "points", "3")["d1"], 3 * t ** 2, rtol=1e-15)


def test_more_devices_than_there_are_is_one_error_line(runs):
    _, _, _, done, _, _, _ = runs
    assert_user_error(done[("too many", "5", "csv")], "--devices 5", "4 cpu devices",
                      "--devices all")


@pytest.mark.parametrize("text", ["0", "-1", "two", "1.5", "", str(MAX_DEVICES + 1)])
def test_a_count_that_is_not_one_is_refused_before_any_work(text):
    with pytest.raises(InputError, match="--devices"):
        check_devices(text)
    assert_user_error(cli("grad", "x**2", "--at", "1", "--devices", text), "--devices",
                      "give all, or a count")


def test_the_texts_it_takes():
    assert [check_devices(t) for t in (None, "all", "ALL", " 2 ", "1")] == \
        [None, 0, 0, 2, 1]


def test_all_on_a_machine_of_one_device_is_that_device():
    """Without forced devices this process sees one CPU device: all is one, 2 is
    refused with what there is."""
    run = cli("grad", "x**3", "--at", "2", "--devices", "all", "--format", "plain")
    assert run.code == 0 and float(run.stdout) == 12.0, run
    assert_user_error(cli("grad", "x**3", "--at", "2", "--devices", "2"),
                      "--devices 2", "1 cpu device here")


def test_series_takes_the_option():
    run = cli("series", "exp(x)", "--at", "0", "--order", "3", "--format", "plain",
              "--devices", "all")
    assert run.code == 0, run
    terms = run.stdout.strip().split(" + ")
    assert [float(t.split("*")[0]) for t in terms[2:]] == pytest.approx(
        [1 / math.factorial(2), 1 / math.factorial(3)], rel=1e-15)
    assert terms[:2] == ["1.0", "x"]


def test_plot_takes_the_option(tmp_cwd):
    run = cli("plot", "x**2", "--range", "0:1", "--points", "5", "--out", "p.svg",
              "--devices", "all")
    assert run.code == 0, run
    assert (tmp_cwd / "p.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
