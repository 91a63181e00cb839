"""--distributed: processes of a JAX distributed job (here two, on 127.0.0.1, CPU) each
compute their share of the --data rows, and process 0 writes the output one process
would write, byte for byte. A process that fails, or dies, ends the job: every other
process ends with one error line, and nothing is left behind.

The shares themselves (CSV byte ranges, .npy and .npz slices) are checked in-process:
put together in order they are the file's rows, for any number of processes.
"""
from __future__ import annotations

import inspect
import os
import signal
import socket
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

from conftest import Run, assert_user_error, cli

from autodx import data, distributed, shares
from autodx.errors import DataError, InputError

ROWS = 2003
# a JAX that lets the heartbeat be set (0.6 on); the 0.5 lower bound refuses --distributed
JOBS = "heartbeat_timeout_seconds" in inspect.signature(
    __import__("jax").distributed.initialize).parameters


def _old_jax_refuses(folder) -> bool:
    """With a JAX too old for a job, --distributed is one error line naming the upgrade:
    then that is what a test of a job checks (True), and it ends there."""
    if JOBS:
        return False
    (folder / "one.csv").write_text("x,y\n1,2\n")
    run = cli("grad", "x*y", "--data", str(folder / "one.csv"), "--out",
              str(folder / "one.npz"), "--distributed")
    assert_user_error(run, "--distributed needs a newer JAX", "pip install -U jax")
    assert not (folder / "one.npz").exists()
    return True


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args, count: int, cwd, pause: dict | None = None) -> list[subprocess.Popen]:
    port = _port()
    procs = []
    for i in range(count):
        env = dict(os.environ, AUTODX_SERVER="off", AUTODX_COORDINATOR=f"127.0.0.1:{port}",
                   AUTODX_NUM_PROCESSES=str(count), AUTODX_PROCESS_ID=str(i),
                   JAX_PLATFORMS="cpu")
        if pause and i in pause:
            env["AUTODX_DISTRIBUTED_TEST_PAUSE"] = str(pause[i])
        procs.append(subprocess.Popen([sys.executable, "-m", "autodx", *args], cwd=cwd,
                                      env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True,
                                      start_new_session=True))
    return procs


def _finish(procs, timeout=240) -> list[Run]:
    runs = []
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        runs.append(Run(p.returncode, out, err))
    return runs


def _job(args, cwd, count=2) -> list[Run]:
    return _finish(_start(args, count, cwd))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dist")
    rng = np.random.default_rng(15)
    x, y = rng.uniform(-2, 2, ROWS), rng.uniform(0.5, 2, ROWS)
    with open(folder / "xy.csv", "w", newline="") as f:  # CRLF line ends, and a BOM
        f.write("\ufeffx,y\r\n" + "".join(f"{float(a)!r},{float(b)!r}\r\n"
                                          for a, b in zip(x, y)))
    np.savez(folder / "xy.npz", x=x, y=y)
    v = rng.normal(size=(ROWS, 3))
    np.save(folder / "v.npy", v)
    return folder, x, y, v


def _same_file(folder, a: str, b: str) -> None:
    assert (folder / a).read_bytes() == (folder / b).read_bytes(), (a, b)


def _no_leftovers(folder) -> None:
    assert not [n for n in os.listdir(folder) if "autodx-parts" in n or ".tmp" in n]


@pytest.mark.parametrize("args, data_name, out", [
    (["grad", "sin(x)*exp(x)", "--order", "3"], "xy.csv", "grad.npz"),
    (["jacobian", "[x*y, sin(x)]"], "xy.npz", "jac.csv"),
    (["perex", "dot(w, v)**2", "--wrt", "w", "--at", "w=[1,-1,0.5]"], "v.npy", "perex.json"),
])
def test_two_processes_write_what_one_writes(files, args, data_name, out):
    folder, x, y, v = files
    if _old_jax_refuses(folder):
        return
    runs = _job([*args, "--data", data_name, "--out", f"two-{out}", "--distributed"],
                folder)
    assert [r.code for r in runs] == [0, 0], runs
    assert runs[1].stdout == runs[0].stdout == "" and "error" not in runs[1].stderr
    one = subprocess.run([sys.executable, "-m", "autodx", *args, "--data", data_name,
                          "--out", f"one-{out}"], cwd=folder, capture_output=True,
                         text=True, env=dict(os.environ, AUTODX_SERVER="off"), timeout=240)
    assert one.returncode == 0, one.stderr
    assert runs[0].stderr.replace("two-", "one-") == one.stderr  # "wrote 2003 results"
    _same_file(folder, f"two-{out}", f"one-{out}")
    _no_leftovers(folder)
    if out == "grad.npz":  # and the numbers are right, in input order
        with np.load(folder / f"two-{out}") as z:
            e, s, c = np.exp(x), np.sin(x), np.cos(x)
            assert np.allclose(z["d1"], e * (s + c), rtol=1e-13, atol=1e-15)
            assert np.allclose(z["d3"], 2 * e * (c - s), rtol=1e-13, atol=1e-14)
    elif out == "jac.csv":
        rows = np.loadtxt(folder / f"two-{out}", delimiter=",", skiprows=1)
        assert np.allclose(rows[:, 4:], np.stack([y, x, np.cos(x), 0 * x], 1), rtol=1e-14)
    else:
        import json

        grads = np.array([r["grad"]["w"] for r in json.loads(
            (folder / f"two-{out}").read_text())["results"]])
        w = np.array([1, -1, 0.5])
        assert np.allclose(grads, 2 * (v @ w)[:, None] * v, rtol=1e-13)


def test_a_bad_row_in_another_share_ends_every_process(files, tmp_path):
    folder = files[0]
    if _old_jax_refuses(tmp_path):
        return
    lines = (folder / "xy.csv").read_text().splitlines()
    lines[1900] = "1.5,abc"  # line 1901: in process 1's half
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n")
    runs = _job(["grad", "x*y", "--data", "bad.csv", "--out", "r.npz", "--distributed"],
                tmp_path)
    where = "bad.csv, line 1901, column 2: 'abc' is not a number"
    assert_user_error(runs[1], where)  # the whole file's line number
    assert_user_error(runs[0], "--distributed: process 1 failed: " + where)
    assert not (tmp_path / "r.npz").exists()
    _no_leftovers(tmp_path)


def test_a_process_that_dies_ends_the_others_within_a_minute(files, tmp_path):
    if _old_jax_refuses(tmp_path):
        return
    (tmp_path / "xy.csv").write_bytes((files[0] / "xy.csv").read_bytes())
    procs = _start(["grad", "x*y", "--data", "xy.csv", "--out", "r.npz", "--distributed"],
                   2, tmp_path, pause={1: 100})
    deadline = time.monotonic() + 120
    while not any(n.startswith(".r.npz.autodx-parts") and
                  os.path.exists(tmp_path / n / "part-0.npz") for n in os.listdir(tmp_path)):
        assert time.monotonic() < deadline and procs[0].poll() is None, _finish(procs)
        time.sleep(0.2)
    os.killpg(procs[1].pid, signal.SIGKILL)  # process 1 and its member: a lost machine
    killed = time.monotonic()
    run = _finish(procs[:1], timeout=90)[0]
    procs[1].communicate()
    assert time.monotonic() - killed < 60
    assert run.code == distributed.LOST and run.stdout == "", run
    lines = run.stderr.strip().splitlines()
    assert lines == [f"error: --distributed: process 1 stopped answering (JAX's heartbeat, "
                     f"{distributed.HEARTBEAT_SECONDS} s); no results were written"], run
    assert not (tmp_path / "r.npz").exists()
    _no_leftovers(tmp_path)


# ---------------------------------------------------------------- refused before any job

@pytest.mark.parametrize("args, fragment", [
    (["grad", "x*y", "--at", "x=1,y=2"], "give --data"),
    (["grad", "x*y", "--data", "-", "--out", "r.npz"], "not -"),
    (["grad", "x*y", "--data", "xy.csv"], "give --out FILE"),
    (["grad", "x*y", "--data", "xy.csv", "--out", "r.json", "--check"], "--check"),
    (["perex", "w*x", "--wrt", "w", "--at", "w=1", "--data", "xy.csv", "--out", "r.npz",
      "--timing"], "--timing"),
])
def test_what_it_needs_is_checked_first(args, fragment, tmp_cwd):
    assert_user_error(cli(*args, "--distributed"), "--distributed", fragment)


def test_no_job_to_join_is_one_error_line(tmp_cwd, monkeypatch):
    if _old_jax_refuses(tmp_cwd):
        return
    for name in [*distributed.ENV, "JAX_COORDINATOR_ADDRESS", "SLURM_JOB_ID",
                 "OMPI_MCA_orte_hnp_uri"]:
        monkeypatch.delenv(name, raising=False)
    (tmp_cwd / "xy.csv").write_text("x,y\n1,2\n")
    run = cli("grad", "x*y", "--data", "xy.csv", "--out", "r.npz", "--distributed")
    assert_user_error(run, "--distributed: could not join the job", "AUTODX_COORDINATOR")
    assert sorted(os.listdir(tmp_cwd)) == ["xy.csv"]


@pytest.mark.parametrize("env, fragment", [
    ({"AUTODX_COORDINATOR": "127.0.0.1:1234"}, "set all three"),
    ({"AUTODX_COORDINATOR": "h:1", "AUTODX_NUM_PROCESSES": "2", "AUTODX_PROCESS_ID": "2"},
     "from 0 to the count less one"),
    ({"AUTODX_COORDINATOR": "h:1", "AUTODX_NUM_PROCESSES": "two", "AUTODX_PROCESS_ID": "0"},
     "not a whole number"),
    ({"AUTODX_COORDINATOR": "no port", "AUTODX_NUM_PROCESSES": "2",
      "AUTODX_PROCESS_ID": "0"}, "host:port"),
])
def test_the_environment_is_checked(env, fragment):
    with pytest.raises(InputError, match=fragment):
        distributed.settings(env)


def test_the_environment_gives_jax_its_arguments():
    got = distributed.settings({"AUTODX_COORDINATOR": "10.1.2.3:7777",
                                "AUTODX_NUM_PROCESSES": "8", "AUTODX_PROCESS_ID": "7"})
    assert got["coordinator_address"] == "10.1.2.3:7777"
    assert (got["num_processes"], got["process_id"]) == (8, 7)
    assert got["heartbeat_timeout_seconds"] == distributed.HEARTBEAT_SECONDS
    assert "coordinator_address" not in distributed.settings({})  # JAX detects the job


# ---------------------------------------------------------------- the shares

def _rows(plan) -> dict:
    if plan is None:
        return {}
    out: dict = {}
    for chunk in plan.chunks(5):
        for k, v in chunk.items():
            out.setdefault(k, []).append(v)
    return {k: np.concatenate(v) for k, v in out.items()}


def _check_shares(path, variables, vectors, ats=()):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ignored columns: said once per share
        whole = _rows(data.data_plan(variables, vectors, list(ats), str(path)))
        for count in (1, 2, 3, 7, 40):
            parts = [_rows(shares.share_plan(variables, vectors, list(ats), str(path), i,
                                             count)) for i in range(count)]
            assert parts[0], (path, count)  # share 0 always holds the first row
            for k, v in whole.items():
                got = np.concatenate([p[k] for p in parts if p])
                assert got.tobytes() == v.tobytes(), (path, count, k)


def test_csv_shares_are_the_rows_in_order(tmp_path):
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=31).tolist(), rng.normal(size=31).tolist()
    cases = {
        "plain.csv": "x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x, y)),
        "crlf.csv": "\ufeffx,y\r\n" + "".join(f"{a!r},{b!r}\r\n" for a, b in zip(x, y)),
        "blank.csv": "x,y\n\n" + "".join(f"{a!r},{b!r}\n\n" for a, b in zip(x, y)) + "\n",
        "noheader.csv": "".join(f"{a!r}\n" for a in x),
        "noend.csv": "x\n" + "\n".join(f"{a!r}" for a in x),
        "indexed.csv": '"","x","junk","y"\n' + "".join(
            f'"{i}",{a!r},"q",{b!r}\n' for i, (a, b) in enumerate(zip(x, y))),
        "spaces.csv": "x y\n" + "".join(f"  {a!r}   {b!r}\n" for a, b in zip(x, y)),
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text, newline="")
        _check_shares(tmp_path / name, ["x"] if name in ("noheader.csv", "noend.csv")
                      else ["x", "y"], {})
    _check_shares(tmp_path / "noend.csv", ["x", "y"], {}, ["y=2"])  # y from --at


def test_array_shares_are_the_rows_in_order(tmp_path):
    rng = np.random.default_rng(4)
    x, z = rng.normal(size=29), rng.normal(size=(29, 2))
    np.save(tmp_path / "z.npy", z)
    _check_shares(tmp_path / "z.npy", ["z"], {"z": "a vector"})
    np.savez(tmp_path / "stored.npz", x=x, z=z)
    np.savez_compressed(tmp_path / "packed.npz", x=x, z=np.asfortranarray(z))
    for name in ("stored.npz", "packed.npz"):
        _check_shares(tmp_path / name, ["x", "z"], {"z": "a vector"})
    np.savez(tmp_path / "x.npz", x=x)
    _check_shares(tmp_path / "x.npz", ["x", "y"], {}, ["y=2"])


def test_a_share_says_the_whole_file_line_of_a_bad_row(tmp_path):
    lines = ["x,y"] + [f"{i},{i}" for i in range(1, 60)]
    lines[47] = "47,abc"
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n")
    path = str(tmp_path / "bad.csv")
    with pytest.raises(DataError, match=r"bad\.csv, line 48, column 2: 'abc'"):
        _rows(data.data_plan(["x", "y"], {}, [], path))
    with pytest.raises(DataError, match=r"bad\.csv, line 48, column 2: 'abc'"):
        _rows(shares.share_plan(["x", "y"], {}, [], path, 2, 3))


def test_an_npz_share_is_checked_as_the_whole_file(tmp_path):
    np.savez(tmp_path / "a.npz", x=np.zeros(3), q=np.zeros(3))
    with pytest.raises(DataError, match="unknown array 'q'"):
        shares.share_plan(["x"], {}, [], str(tmp_path / "a.npz"), 0, 2)
    np.savez(tmp_path / "b.npz", x=np.zeros(3), y=np.zeros(4))
    with pytest.raises(DataError, match="different numbers of rows"):
        shares.share_plan(["x", "y"], {}, [], str(tmp_path / "b.npz"), 1, 2)


def test_the_merged_rows_are_bounded_like_one_process(tmp_path):
    # each share is within the bound of what holds the results (JSON: 2,000,000
    # numbers), the merged rows are not: process 0 refuses before merging
    if _old_jax_refuses(tmp_path):
        return
    (tmp_path / "d.csv").write_text("x,y,z\n" + "".join(f"{0.3 + i / 100},0.5,0.7\n"
                                                         for i in range(30)))
    runs = _job(["grad", "sin(x*y*z)", "--order", "10", "--data", "d.csv", "--out", "r.json",
                 "--distributed"], tmp_path)
    assert_user_error(runs[0], "--out r.json holds every result in memory as text",
                      "30 rows of 88,576 numbers", "over the limit of 2,000,000")
    assert runs[1].code == 2 and "over the limit of 2,000,000" in runs[1].stderr, runs[1]
    assert not (tmp_path / "r.json").exists()
    _no_leftovers(tmp_path)
