"""autodx plot: the numbers behind the plot agree with grad, images are real files of the
requested size, the text plot fits the terminal, and poles leave gaps."""
from __future__ import annotations

import json
import struct
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from conftest import assert_user_error, cli

F = "sin(x)*exp(-x/4)"


def test_the_numbers_behind_the_plot_are_grads(tmp_cwd):
    assert cli("plot", F, "--order", "3", "--range", "0:10", "--points", "41",
               "-o", "p.csv").code == 0
    table = np.loadtxt("p.csv", delimiter=",", skiprows=1)
    assert (tmp_cwd / "p.csv").read_text().splitlines()[0] == "x,f,f',f'',f'''"
    assert table.shape == (41, 5) and np.allclose(table[:, 0], np.linspace(0, 10, 41))
    for i in (0, 7, 40):
        doc = cli("grad", F, "--order", "3", "--at", repr(float(table[i, 0])), "-f",
                  "json").json()
        r = doc["results"][0]
        want = [r["value"]] + [r["derivatives"][str(k)] for k in (1, 2, 3)]
        assert table[i, 1:] == pytest.approx(want, rel=1e-13, abs=1e-15)
    assert cli("plot", F, "--range", "0:10", "--points", "41", "-o", "p.json").code == 0
    doc = json.loads((tmp_cwd / "p.json").read_text())
    assert doc["curves"]["f''"] == pytest.approx(table[:, 3].tolist())
    assert cli("plot", F, "--range", "0:10", "--points", "41", "-o", "p.npy").code == 0
    assert np.load("p.npy").shape == (41, 4)  # x and f, f', f'' (--order 2 by default)


def test_a_png_of_the_requested_size(tmp_cwd):
    run = cli("plot", F, "--order", "2", "--range", "0:10", "-o", "f.png", "--size", "640x360")
    assert run.code == 0 and run.stderr == "wrote the plot to f.png\n", run
    head = (tmp_cwd / "f.png").read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    assert struct.unpack(">II", head[16:24]) == (640, 360)


def test_svg_and_pdf_of_the_requested_size(tmp_cwd):
    assert cli("plot", F, "--range", "0:10", "-o", "f.svg", "--size", "500x300").code == 0
    root = ET.parse(tmp_cwd / "f.svg").getroot()
    assert root.tag.endswith("svg")
    assert [float(v) for v in root.get("viewBox").split()] == [0, 0, 360, 216]  # 72/100 pt
    assert cli("plot", F, "--range", "0:10", "-o", "f.pdf", "--size", "500x300").code == 0
    pdf = (tmp_cwd / "f.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and b"/MediaBox [ 0 0 360 216 ]" in pdf


def test_the_text_plot_fits_the_terminal():
    from typer.testing import CliRunner

    from autodx.cli import app

    run = CliRunner(env={"COLUMNS": "60"}).invoke(app, ["plot", F, "--order", "2",
                                                        "--range", "0:10"])
    lines = run.stdout.splitlines()
    assert run.exit_code == 0 and max(map(len, lines)) <= 60
    assert [line for line in lines if line in ("f", "f'", "f''")] == ["f", "f'", "f''"]
    assert "\x1b[" not in run.stdout  # colour only on a colour terminal
    assert lines[-1].strip() == "x" and lines[-2].split() == ["0", "10"]
    assert sum(any(0x2800 < ord(c) <= 0x28FF for c in line) for line in lines) >= 12


def test_a_pole_leaves_a_gap_and_a_warning(tmp_cwd):
    run = cli("plot", "1/x", "--order", "1", "--range", "-1:1", "--points", "201",
              "-o", "p.csv")
    assert run.code == 0
    assert "warning: f is not finite at 1 of 201 points (first: x=0)" in run.stderr
    rows = (tmp_cwd / "p.csv").read_text().splitlines()
    assert rows[101].split(",")[1] in ("inf", "nan")  # x = 0: the gap, kept in the numbers
    from autodx import plot

    x = np.linspace(-1, 1, 200)  # no sample at the pole: -199 and 199 beside it
    shown = plot.gaps(1 / x)
    assert np.isnan(shown[99:101]).all() and np.isfinite(shown[:99]).all() and \
        np.isfinite(shown[101:]).all()
    assert np.isfinite(plot.gaps(np.tanh(50 * x))).all()  # steep is not a pole


def test_plot_errors(tmp_cwd, monkeypatch):
    assert_user_error(cli("plot", F, "--range", "3:1"), "--range")
    assert_user_error(cli("plot", F, "--range", "0:1", "-o", "f.gif"), "unknown file type")
    assert_user_error(cli("plot", "x*y", "--range", "0:1"), "--wrt")
    assert_user_error(cli("plot", F, "--range", "0:1", "--size", "9x9"), "--size")
    import builtins

    real = builtins.__import__

    def no_matplotlib(name, *a, **k):
        if name == "matplotlib":
            raise ImportError(name)
        return real(name, *a, **k)
    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    assert_user_error(cli("plot", F, "--range", "0:1", "-o", "f.png"),
                      'pip install "autodx[plot]"')
    assert not (tmp_cwd / "f.png").exists()
