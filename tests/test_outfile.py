"""--out files as a careful tool writes them: never over the --data file, checked before
any work, with the mode `> FILE` would give, through a symlink to its target, from a
temporary file no planted link can redirect, and nothing half-written on failure."""
from __future__ import annotations

import errno
import json
import os
import stat

import numpy as np
import pytest

from autodx import outfile
from conftest import assert_user_error, cli

GRAD = ("grad", "x**2", "--at", "x=3")


def _listing(folder) -> list[str]:
    return sorted(os.listdir(folder))


# ---------------------------------------------------------------- --out is not --data

@pytest.mark.parametrize("out", ["d.csv", "./d.csv", "sub/../d.csv", "{abs}", "link.csv",
                                 "hard.csv"])
def test_out_naming_the_data_file_is_refused_and_the_input_kept(tmp_cwd, out):
    (tmp_cwd / "sub").mkdir()
    (tmp_cwd / "d.csv").write_text("x\n1\n2\n")
    os.symlink("d.csv", tmp_cwd / "link.csv")
    os.link(tmp_cwd / "d.csv", tmp_cwd / "hard.csv")
    before = _listing(tmp_cwd)
    out = out.format(abs=tmp_cwd / "d.csv")
    assert_user_error(cli("grad", "x**2", "--data", "d.csv", "--out", out),
                      f"--out {out}", "--data file")
    assert (tmp_cwd / "d.csv").read_text() == "x\n1\n2\n"
    assert _listing(tmp_cwd) == before


def test_perex_out_over_its_npy_data_is_refused(tmp_cwd):
    np.save("x.npy", np.arange(3.0))
    assert_user_error(cli("perex", "(w*x)**2", "--wrt", "w", "--at", "w=1", "--data",
                          "x.npy", "--out", "x.npy"), "--data file")
    assert np.load("x.npy").tolist() == [0.0, 1.0, 2.0]


# ---------------------------------------------------------------- checked before any work

def test_out_to_a_folder_is_refused_before_the_data_is_read(tmp_cwd):
    (tmp_cwd / "res.json").mkdir()
    (tmp_cwd / "d.csv").write_text("x\n1\nbad\n")  # the work would fail on line 3
    assert_user_error(cli("grad", "x**2", "--data", "d.csv", "--out", "res.json"),
                      "--out res.json: is a folder")
    assert _listing(tmp_cwd / "res.json") == []


# A syntax error in EXPR: anything that got past the name's check would say so instead.
TOO_LONG = [
    ("--out", "r" * 300 + ".json", "the part 'rrrrrrrrrrrrrrrrrr'... is 305 bytes, over"),
    ("--out", "sub/" * 1100 + "r.json", "the path is 4,406 bytes, over"),
    ("--data", "d" * 300 + ".csv", "the part 'dddddddddddddddddd'... is 304 bytes, over"),
    ("--data", "./" * 2100 + "d.csv", "the path is 4,205 bytes, over"),
]


@pytest.mark.parametrize("option, name, why", TOO_LONG,
                         ids=["out-part", "out-path", "data-part", "data-path"])
def test_a_name_too_long_is_refused_before_any_work(tmp_cwd, option, name, why):
    (tmp_cwd / "sub").mkdir()
    os.symlink(".", tmp_cwd / "sub" / "sub")  # sub/sub/... is a real folder
    other = ["--out", "r.json"] if option == "--data" else ["--data", "d.csv"]
    (tmp_cwd / "d.csv").write_text("x\n1\n")
    before = _listing(tmp_cwd)
    run = cli("grad", "x +", option, name, *other)
    assert_user_error(run, f"{option} '", why, "use a shorter name")
    assert len(run.stderr) < 400
    assert _listing(tmp_cwd) == before


def test_an_out_whose_full_path_is_too_long_is_refused_before_any_work(tmp_cwd):
    """--out r.json in a folder nested past PATH_MAX: the name is short, but the file
    is written by its full path (and through a temporary file beside it)."""
    part = "f" * 200
    for _ in range(21):  # 21 x 201 bytes: past 4096
        os.mkdir(part)
        os.chdir(part)  # (tmp_cwd's monkeypatch goes back afterwards)
    run = cli("grad", "x +", "--out", "r.json")
    assert_user_error(run, "--out r.json: written as '/", "the path is", "bytes, over")
    assert os.listdir(".") == []


def test_out_through_a_link_into_a_missing_folder_is_refused_first(tmp_cwd):
    os.symlink("missing/r.json", tmp_cwd / "link.json")
    (tmp_cwd / "d.csv").write_text("x\n1\nbad\n")
    assert_user_error(cli("grad", "x**2", "--data", "d.csv", "--out", "link.json"),
                      "--out link.json: the folder", "does not exist")


# ---------------------------------------------------------------- modes and symlinks

@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_out_file_follows_the_umask(tmp_cwd, umask, mode):
    old = os.umask(umask)
    try:
        assert cli(*GRAD, "--out", "r.json").code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat("r.json").st_mode) == mode


@pytest.mark.parametrize("mode", [0o640, 0o666, 0o600])
def test_an_existing_out_file_keeps_its_mode(tmp_cwd, mode):
    (tmp_cwd / "r.json").write_text("old")
    os.chmod("r.json", mode)
    old = os.umask(0o022)
    try:
        assert cli(*GRAD, "--out", "r.json").code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat("r.json").st_mode) == mode
    assert json.loads((tmp_cwd / "r.json").read_text())["command"] == "grad"


@pytest.mark.parametrize("exists", [True, False])
def test_a_symlinked_out_is_written_through_to_its_target(tmp_cwd, exists):
    (tmp_cwd / "real").mkdir()
    target = tmp_cwd / "real" / "target.json"
    if exists:
        target.write_text("old")
    os.symlink(os.path.join("real", "target.json"), tmp_cwd / "link.json")
    run = cli(*GRAD, "--out", "link.json")
    assert run.code == 0, run
    assert os.path.islink("link.json") and os.readlink("link.json") == "real/target.json"
    assert json.loads(target.read_text())["results"][0]["derivatives"]["1"] == 6.0
    assert _listing(tmp_cwd) == ["link.json", "real"]
    assert _listing(tmp_cwd / "real") == ["target.json"]


def test_a_link_planted_at_the_temporary_name_is_not_followed(tmp_cwd, monkeypatch):
    (tmp_cwd / "victim.txt").write_text("precious")
    planted = str(tmp_cwd / ".autodx-planted.json")
    os.symlink("victim.txt", planted)
    names = iter([planted, str(tmp_cwd / ".autodx-fresh.json")])
    monkeypatch.setattr(outfile, "_temp_name", lambda folder, suffix: next(names))
    assert cli(*GRAD, "--out", "r.json").code == 0
    assert (tmp_cwd / "victim.txt").read_text() == "precious"
    assert os.readlink(planted) == "victim.txt"
    assert json.loads((tmp_cwd / "r.json").read_text())["command"] == "grad"


# ---------------------------------------------------------------- failures leave nothing

def test_a_full_disk_is_one_error_line_and_nothing_half_written(tmp_cwd, monkeypatch):
    def full(tmp, *_):
        with open(tmp, "wb") as f:
            f.write(b"half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setitem(outfile.WRITERS, ".npy", full)
    (tmp_cwd / "g.npy").write_bytes(b"old")
    np.savez("d.npz", x=np.arange(3.0))
    run = cli("perex", "(w*x)**2", "--wrt", "w", "--at", "w=1", "--data", "d.npz",
              "--out", "g.npy")
    assert_user_error(run, "--out g.npy: cannot be written", "No space left on device")
    assert (tmp_cwd / "g.npy").read_bytes() == b"old"
    assert _listing(tmp_cwd) == ["d.npz", "g.npy"]


def test_a_temporary_file_that_cannot_be_made_is_one_error_line(tmp_cwd, monkeypatch):
    monkeypatch.setattr(outfile, "_temp_name",
                        lambda folder, suffix: str(tmp_cwd / "gone" / ".autodx-t.json"))
    assert_user_error(cli(*GRAD, "--out", "r.json"), "--out r.json: cannot be written",
                      "No such file or directory")
    assert _listing(tmp_cwd) == []
