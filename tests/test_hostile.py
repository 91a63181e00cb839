"""Hostile and broken input through the whole CLI on every surface a user controls, each
example under the audit hook (benchmarks/audit.py): no finding may appear. The run of
ten thousand per surface is benchmarks/fuzz.py, recorded in docs/benchmarks.md."""
from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import hostile
from hostile import SURFACES, invoke, point_args, run_example, valid

# The suite's cache folder (conftest.py), which autodx configured on import.
CACHE = os.environ.get("AUTODX_CACHE_DIR", "")
SETTINGS = dict(deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])


def _new_problems(example, tmp_path, cache=None):
    """Problems other than the known open ones (pinned below by strict xfails)."""
    outcome, problems = run_example(invoke, example, str(tmp_path), [CACHE], cache)
    return [p for p in problems if not p.startswith("known open")], outcome


@settings(max_examples=300, **SETTINGS)
@given(SURFACES["expr"](costly=False))
def test_expressions_end_in_an_answer_or_one_error_line(tmp_path, example):
    problems, _ = _new_problems(example, tmp_path)
    assert problems == [], example.describe(400)


@pytest.mark.parametrize("surface, examples", [
    ("def", 40), ("indices", 40), ("at", 40), ("data", 60), ("out", 40)])
def test_every_surface_ends_in_an_answer_or_one_error_line(surface, examples, tmp_path):
    @settings(max_examples=examples, **SETTINGS)
    @given(SURFACES[surface](costly=False))
    def run(example):
        problems, _ = _new_problems(example, tmp_path)
        assert problems == [], example.describe(400)
    run()


@pytest.mark.skipif(not CACHE or os.environ.get("AUTODX_NO_CACHE", "") not in ("", "0"),
                    reason="the compile cache is off")
def test_damaged_cache_entries_are_skipped_and_the_answer_is_right(tmp_path):
    plant = hostile.CachePlant(CACHE)
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "cache-data.csv").write_bytes(hostile.CACHE_DATA)
    old = os.getcwd()
    os.chdir(seed)
    try:
        plant.seed(lambda argv: invoke(argv, None)[1])
    finally:
        os.chdir(old)
    assert plant.entries[0], "no cache entries to damage"

    @settings(max_examples=25, **SETTINGS)
    @given(SURFACES["cache"](costly=False))
    def run(example):
        problems, _ = _new_problems(example, tmp_path, plant)
        assert problems == [], example.describe(400)
    run()


@settings(max_examples=25, **SETTINGS)
@given(valid)
def test_random_expressions_through_check_and_symbolic(tmp_path, text):
    """The symbolic worker and the check on random valid expressions, the worker under
    the audit hook too: an answer whose every number is ok or not checkable (never a
    false disagreement), or one error."""
    example = hostile.Example("expr", ["grad", text, *point_args(text), "--check",
                                       "--symbolic", "--symbolic-timeout", "5", "--format",
                                       "json"], texts=[text])
    problems, run = _new_problems(example, tmp_path)
    assert problems == [], example.describe(400)
    if run.code == 2:
        return
    doc = json.loads(run.stdout)
    checks = [c for item in doc["results"] for c in item["check"]]
    verdicts = [c["verdict"] for c in checks]
    # A disagreement is no false alarm when autodx's number is not finite and both
    # references agree on a finite one: then autodx is wrong (pinned below), not --check.
    wrong = [c for c in checks if c["verdict"] == "disagrees" and c["value"] is None and
             c["exact"] is not None and c["fd"] is not None]
    assert run.code == (3 if wrong else 0), (text, run)
    assert set(verdicts) - {"ok", "not checkable"} <= ({"disagrees"} if wrong else set()), \
        (text, doc["results"])
    assert len(wrong) == verdicts.count("disagrees"), (text, doc["results"])
    assert doc["check"]["ok"] == verdicts.count("ok")


# ------------------------------------------------------------------ cases the fuzzer found
# Found by benchmarks/fuzz.py; those fixed are plain tests, those still open are pinned
# by a strict xfail (and tagged in harness.KNOWN_OPEN), which will XPASS, failing the
# suite, once fixed: then drop the mark and the entry.

def test_an_empty_npy_is_one_error_line(tmp_path):
    example = hostile.Example("data", ["grad", "sin(x)", "--data", "d.npy"],
                              files={"d.npy": b""})
    outcome, problems = run_example(invoke, example, str(tmp_path), [CACHE])
    assert outcome.code == 2 and problems == []


def test_a_5000_digit_header_index_is_one_error_line(tmp_path):
    example = hostile.Example("data", ["grad", "sum(z)", "--data", "-"],
                              stdin=f"z[{'9' * 5000}]\n1\n")
    outcome, problems = run_example(invoke, example, str(tmp_path), [CACHE])
    assert outcome.code == 2 and problems == []


def test_a_constant_division_by_zero_is_not_an_internal_error(tmp_path):
    example = hostile.Example("expr", ["grad", "1/0*x", "--at", "x=0.5"])
    outcome, problems = run_example(invoke, example, str(tmp_path), [CACHE])
    assert outcome.code in (0, 2) and problems == [], outcome.stderr


def test_a_damaged_npz_is_closed(tmp_path):
    example = hostile.Example("data", ["grad", "x*y", "--data", "d.npz"],
                              files={"d.npz": b"PK\x03\x04" + bytes(100)})
    outcome, problems = run_example(invoke, example, str(tmp_path), [CACHE])
    assert outcome.code == 2 and outcome.leaks == [], outcome.leaks


def _npy(header: str, version: bytes = b"\x01\x00") -> bytes:
    """An .npy file with this header text and room for three float64 numbers."""
    text = header.encode("latin-1")
    pad = (64 - (10 + len(text) + 1) % 64) % 64
    return b"\x93NUMPY" + version + (len(text) + pad + 1).to_bytes(2, "little") + text + \
        b" " * pad + b"\n" + bytes(24)


def _npz(member: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("x.npy", member)
    return buf.getvalue()


def test_an_npy_header_with_an_unclosed_bracket_is_one_error_line(tmp_path):
    data = _npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), ")
    example = hostile.Example("data", ["grad", "sin(x)", "--data", "d.npy"],
                              files={"d.npy": data})
    outcome, problems = run_example(invoke, example, str(tmp_path), [CACHE])
    assert outcome.code == 2 and problems == [], outcome.stderr
    assert "d.npy: cannot be read (its header is damaged" in outcome.stderr


# Headers numpy's reader gives up on, each with another exception: tokenize's
# TokenError (a bracket or a string left open), TypeError (an unhashable key),
# OverflowError (a shape no index holds), ValueError (a format version no one wrote).
DAMAGED_HEADERS = [
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), ", b"\x01\x00"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (3,) \"\"\" }", b"\x01\x00"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), []: 1}", b"\x01\x00"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (" + "9" * 40 + ",), }",
     b"\x01\x00"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", b"\x09\x09"),
]


@pytest.mark.parametrize("header, version", DAMAGED_HEADERS)
@pytest.mark.parametrize("kind", ["npy", "npz"])
def test_a_damaged_npy_or_npz_member_header_is_one_error_line(tmp_path, header, version,
                                                              kind):
    data = _npy(header, version)
    example = hostile.Example("data", ["grad", "sin(x)", "--data", f"d.{kind}"],
                              files={f"d.{kind}": data if kind == "npy" else _npz(data)})
    outcome, problems = run_example(invoke, example, str(tmp_path), [CACHE])
    assert outcome.code == 2 and problems == [], outcome.stderr
    assert f"--data d.{kind}: cannot be read" in outcome.stderr


def test_a_function_of_a_constant_has_a_zero_derivative(tmp_path):
    """diff(x, x) is 1 everywhere, so asin(diff(x, x)) is the constant pi/2: its
    derivative is 0, where the chain rule multiplied asin'(1) = inf by 0 (found by the
    --check test above, whose check said so rightly). The class, in every mode, is in
    tests/test_taylor.py."""
    example = hostile.Example("expr", ["grad", "asin(diff(x, x))", "--at", "x=0.5",
                                       "--format", "json"])
    outcome, problems = run_example(invoke, example, str(tmp_path), [CACHE])
    assert outcome.code == 0 and problems == [], outcome.stderr
    assert json.loads(outcome.stdout)["results"][0]["derivatives"]["1"] == 0.0


def test_a_nul_byte_in_out_is_one_error_line(tmp_path):
    """argv cannot hold a NUL, but a line of ``autodx shell`` can."""
    example = hostile.Example("out", ["grad", "x", "--at", "1", "--out", "a\x00.json"],
                              out="a\x00.json")
    outcome, problems = run_example(invoke, example, str(tmp_path), [CACHE])
    assert outcome.code == 2 and problems == [], outcome.stderr
    assert "--out 'a\\x00.json': a file name cannot hold a NUL byte" in outcome.stderr


def test_an_out_name_that_reads_like_an_error_is_not_an_error_line(tmp_path):
    """The fuzzer's own check took "wrote 2 results to error: .JSON" for an error line
    that does not start with 'error:': the user's words echoed back are not one."""
    example = hostile.Example("out", ["grad", "x*y", "--at", "x=1,y=2", "--out", "error: .JSON"],
                              out="error: .JSON")
    outcome, problems = run_example(invoke, example, str(tmp_path), [CACHE])
    assert outcome.code == 0 and problems == [], (outcome.stderr, problems)
    assert "error: .JSON" in outcome.stderr
    crash = dataclasses.replace(outcome, stderr="Fatal Python error: abort\n")
    assert any("not starting with 'error:'" in p for p in hostile.harness.check(
        hostile.Example("expr", example.argv), str(tmp_path), crash, {}))


@pytest.mark.parametrize("argv", [
    ["grad", "x", "--data", "d\x00.csv"],
    ["grad", "x", "--data", "d\x00.csv", "--out", "r.json"],  # --out checks --data too
    ["perex", "(w*x)**2", "--wrt", "w", "--at", "w=1", "--data", "d.csv\x00"],
])
def test_a_nul_byte_in_data_is_one_error_line(tmp_path, argv):
    example = hostile.Example("data", argv, files={"d.csv": b"x\n1\n"})
    outcome, problems = run_example(invoke, example, str(tmp_path), [CACHE])
    assert outcome.code == 2 and problems == [], outcome.stderr
    assert "a file name cannot hold a NUL byte" in outcome.stderr


@pytest.mark.skipif(not CACHE or os.environ.get("AUTODX_NO_CACHE", "") not in ("", "0"),
                    reason="the compile cache is off")
def test_a_cache_entry_with_another_programs_outputs_is_skipped(tmp_path):
    plant = hostile.CachePlant(CACHE)
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        (tmp_path / "cache-data.csv").write_bytes(hostile.CACHE_DATA)
        plant.seed(lambda argv: invoke(argv, None)[1], commands=[4])
    finally:
        os.chdir(old)
    path, pristine = [e for e in plant.entries[4] if e[0].endswith(".bin")][0]
    magic, _, rest = pristine.partition(b"\n")
    with open(path, "wb") as f:  # a well-formed header, of another program's outputs
        f.write(magic + b'\n{"outputs": 1, "paths": [[["s", "x"]]]}\n' +
                rest.partition(b"\n")[2])
    example = hostile.Example("cache", list(hostile.CACHE_COMMANDS[4]), command=4,
                              files={"cache-data.csv": hostile.CACHE_DATA})
    try:
        outcome, problems = run_example(invoke, example, str(tmp_path), [CACHE])
    finally:
        hostile.harness.restore_entry(path, pristine)
    assert outcome.code == 0 and problems == [], outcome.stderr


@pytest.mark.parametrize("name", ["d.csv", "d.npy", "d.npz"])
def test_a_fifo_as_data_is_refused_within_seconds(tmp_path, name):
    os.mkfifo(tmp_path / name)
    try:
        p = subprocess.run([sys.executable, "-m", "autodx", "grad", "x", "--data", name],
                           cwd=tmp_path, capture_output=True, text=True, timeout=6)
    except subprocess.TimeoutExpired:
        pytest.fail("still reading the fifo after 6 s")
    assert p.returncode == 2 and p.stdout == "", p
    assert p.stderr.splitlines() == [f"error: --data {name}: is a named pipe (FIFO), not a "
                                     "regular file; name a file (to stream CSV rows, pipe "
                                     "them in with --data -)"]


# The race the check before opening leaves: a fifo put in the file's place after the
# check. The open does not block (O_NONBLOCK) and the descriptor is checked again.
_SWAP = """
import os, runpy, sys
from autodx import datafiles
check = datafiles.check_regular
def swapped(path, option, *rest):
    check(path, option, *rest)
    os.remove(path)
    os.mkfifo(path)
datafiles.check_regular = swapped
sys.argv = ["autodx", *sys.argv[1:]]
runpy.run_module("autodx", run_name="__main__")
"""


@pytest.mark.parametrize("name, content", [
    ("d.csv", b"x\n1\n"), ("d.npy", None), ("d.npz", None)])
def test_a_fifo_swapped_in_after_the_check_does_not_block(tmp_path, name, content):
    if content is None:
        buf = io.BytesIO()
        (np.save if name.endswith(".npy") else lambda f, a: np.savez(f, x=a))(
            buf, np.arange(3.0))
        content = buf.getvalue()
    (tmp_path / name).write_bytes(content)
    try:
        p = subprocess.run([sys.executable, "-c", _SWAP, "grad", "x", "--data", name],
                           cwd=tmp_path, capture_output=True, text=True, timeout=6)
    except subprocess.TimeoutExpired:
        pytest.fail("the open blocked on the fifo swapped in")
    assert p.returncode == 2 and p.stdout == "", p
    assert p.stderr.splitlines() == [f"error: --data {name}: is a named pipe (FIFO), not a "
                                     "regular file; name a file (to stream CSV rows, pipe "
                                     "them in with --data -)"]


@pytest.mark.parametrize("name, plant, kind", [
    ("d.csv", hostile.Special("socket"), "a socket"),
    ("d.npy", hostile.Special("socket"), "a socket"),
    ("d.csv", hostile.Special("symlink", "/dev/zero"), "a character device"),
    ("/dev/zero", None, "a character device"),
    ("/dev/null", None, "a character device"),
    ("d.npz", hostile.Special("symlink", "/dev/null"), "a character device"),
])
def test_a_socket_or_a_device_as_data_is_refused_within_seconds(tmp_path, name, plant,
                                                                kind):
    assert not name.startswith("/dev/") or os.path.exists(name)  # Linux
    example = hostile.Example("data", ["grad", "x", "--data", name],
                              files={name: plant} if plant else {})
    outcome, problems = run_example(invoke, example, str(tmp_path), [CACHE])
    assert outcome.code == 2 and problems == [], outcome.stderr
    assert f"--data {name}: is {kind}, not a regular file" in outcome.stderr
    assert outcome.seconds < 5


@pytest.mark.parametrize("command", [["grad", "x"], ["perex", "(w*x)**2", "--wrt", "w",
                                                      "--at", "w=1"]])
def test_a_folder_as_data_is_refused(tmp_path, command):
    example = hostile.Example("data", [*command, "--data", "d.csv"],
                              files={"d.csv": hostile.Special("dir")})
    outcome, problems = run_example(invoke, example, str(tmp_path), [CACHE])
    assert outcome.code == 2 and problems == [], outcome.stderr
    assert "--data d.csv: is a folder, not a file" in outcome.stderr
