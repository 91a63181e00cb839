"""The command line as a user runs it: seeds, formats, options and errors."""
from __future__ import annotations

import csv
import io
import json
import math
import os

import numpy as np
import pytest

from conftest import assert_user_error, cli, subprocess_cli

TD_AT = "theta=[0.1,-0.1,0],p=[1,2,-1],r=1,s=[2,1,0]"
META_DEF = "L(u) = (u*a - 1)**2"


# ---------------------------------------------------------------- seed examples

def test_seed1_polynomial_orders_1_to_4():
    doc = cli("grad", "x**3+2*x**2-3*x+1", "--order", "4", "--at", "1",
              "--format", "json").json()
    (r,) = doc["results"]
    assert r["at"] == {"x": 1.0}
    assert r["value"] == 1.0
    assert r["derivatives"] == {"1": 4.0, "2": 10.0, "3": 6.0, "4": 0.0}
    assert doc["coordinates"] == ["x"] and doc["command"] == "grad"


def test_seed1_plain_for_shell_scripts():
    run = cli("grad", "x**3+2*x**2-3*x+1", "--order", "4", "--at", "1", "--format", "plain")
    assert run.code == 0 and run.stdout == "4\n10\n6\n0\n"


def test_seed3_meta_gradient_through_a_gradient_step():
    doc = cli("grad", "L(w - 0.1*diff(L(w), w))", "--def", META_DEF, "--wrt", "w",
              "--at", "w=0.3,a=2", "--format", "json").json()
    (r,) = doc["results"]
    assert r["value"] == pytest.approx(0.0064, rel=1e-12)
    assert r["derivatives"]["1"] == pytest.approx(-0.064, rel=1e-12)
    assert doc["coordinates"] == ["w"]


def test_seed3_higher_orders_through_diff():
    # f(w) = (2 (w - 0.1 * 4 (2w - 1)) - 1)^2 = (0.4 w - 0.2)^2: f'' = 0.32, f''' = 0
    doc = cli("grad", "L(w - 0.1*diff(L(w), w))", "--def", META_DEF, "--wrt", "w",
              "--at", "w=0.3,a=2", "--order", "3", "--format", "json").json()
    d = doc["results"][0]["derivatives"]
    assert d["2"] == pytest.approx(0.32, rel=1e-12) and abs(d["3"]) < 1e-12


@pytest.mark.parametrize("expr, expected", [
    ("(r + dot(theta, s) - dot(theta, p))**2", [2.4, -2.4, 2.4]),
    ("(stop_gradient(r + dot(theta, s)) - dot(theta, p))**2", [-2.4, -4.8, 2.4]),
])
def test_seed4_stop_gradient_td_update(expr, expected):
    doc = cli("grad", expr, "--wrt", "theta", "--at", TD_AT, "--format", "json").json()
    assert doc["coordinates"] == ["theta[0]", "theta[1]", "theta[2]"]
    assert doc["results"][0]["derivatives"]["1"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("expr, value, slope", [
    ("round(x)", 3.0, 0.0),
    ("x + stop_gradient(round(x) - x)", 3.0, 1.0),
])
def test_seed5_straight_through_estimator(expr, value, slope):
    r = cli("grad", expr, "--at", "3.2", "--format", "json").json()["results"][0]
    assert r["value"] == pytest.approx(value, abs=1e-15)
    assert r["derivatives"]["1"] == slope


# ---------------------------------------------------------------- points and variables

@pytest.mark.parametrize("args, coords, grad", [
    (["x*y", "--at", "x=2,y=3"], ["x", "y"], [3.0, 2.0]),
    (["x*y", "--at", "y=3,x=2"], ["x", "y"], [3.0, 2.0]),
    (["sum(v**2)", "--at", "[1,2,3]"], ["v[0]", "v[1]", "v[2]"], [2.0, 4.0, 6.0]),
    (["x[0]*x[1]", "--at", "x=[2, 5]"], ["x[0]", "x[1]"], [5.0, 2.0]),
    (["b*dot(z, z)", "--at", "z=[1,2],b=3"], ["b", "z[0]", "z[1]"], [5.0, 6.0, 12.0]),
    (["x*y", "--at", "x=2,y=3", "--wrt", "y"], ["y"], 2.0),
])
def test_points_and_coordinates(args, coords, grad):
    doc = cli("grad", *args, "--format", "json").json()
    assert doc["coordinates"] == coords
    assert doc["results"][0]["derivatives"]["1"] == pytest.approx(grad)


@pytest.mark.parametrize("args", [["-x**2", "--at", "3"], ["--at", "3", "-x**2"],
                                  ["-x**2", "-n1", "--at", "3"],
                                  ["--at", "3", "--", "-x**2"]])  # -- ends the options
def test_an_expression_may_start_with_a_minus_sign(args):
    assert cli("grad", "--format", "plain", *args).stdout == "-6\n"


@pytest.mark.parametrize("expr, at, want", [
    ("-x*h", "x=1,h=2", "-1 -2"),      # held -h: printed the help, exit 0
    ("-h*x", "x=1,h=2", "-1 -2"),
    ("-n*x", "n=3,x=2", "-2 -3"),      # -n is --order, but '-n*x' is no number
    ("-o/x", "o=1,x=2", "-0.5 0.25"),  # -o is --out, but '/x' is no output file
])
def test_a_token_with_one_minus_that_is_no_registered_flag_is_the_expression(expr, at, want):
    run = cli("grad", expr, "--at", at, "-f", "plain")
    assert run.code == 0 and run.stdout == want + "\n", run


def test_short_flags_and_values_that_begin_with_a_minus(tmp_cwd):
    run = cli("grad", "x**3", "-n", "2", "--at", "-1", "-f", "plain")
    assert run.stdout == "3\n-6\n", run
    assert cli("grad", "x**3", "-n2", "--at", "-1", "-fplain").stdout == "3\n-6\n"
    assert cli("grad", "x**3", "--at", "2", "-o", "r.json").code == 0
    assert json.loads((tmp_cwd / "r.json").read_text())["results"][0]["derivatives"] == \
        {"1": 12.0}


def test_repeated_at_gives_one_result_per_point_in_order():
    doc = cli("grad", "x**3", "--at", "1", "--at", "2", "--at", "-1", "--order", "2",
              "--format", "json").json()
    assert [r["at"]["x"] for r in doc["results"]] == [1.0, 2.0, -1.0]
    assert [r["derivatives"]["1"] for r in doc["results"]] == [3.0, 12.0, 3.0]
    assert [r["derivatives"]["2"] for r in doc["results"]] == [6.0, 12.0, -6.0]


def test_tensor_order_3_matches_closed_form():
    # f = x^2 y^3: f_xxy = 2 * 3y^2 = 24 at y = 2; the tensor is symmetric
    doc = cli("grad", "x^2 y^3".replace(" ", "*"), "--order", "3", "--at", "x=1,y=2",
              "--format", "json").json()
    t = np.array(doc["results"][0]["derivatives"]["3"])
    assert t.shape == (2, 2, 2)
    assert t[0, 0, 1] == t[0, 1, 0] == t[1, 0, 0] == 24.0
    assert t[1, 1, 1] == 6.0 and t[0, 0, 0] == 0.0 and t[0, 1, 1] == 24.0


def test_table_lists_each_distinct_partial_once():
    run = cli("grad", "x*y**2", "--order", "2", "--at", "x=1,y=2")
    assert run.code == 0
    assert run.stdout.count("d2f/dx dy") == 1 and "d2f/dy dx" not in run.stdout
    for label in ("df/dx", "df/dy", "d2f/dx^2", "d2f/dy^2"):
        assert label in run.stdout
    assert "x*y**2" in run.stdout


def test_table_one_column_per_point_then_one_row_per_point():
    few = cli("grad", "x**2", "--at", "1", "--at", "2")
    assert "x=1" in few.stdout and "x=2" in few.stdout
    many = cli("grad", "x**2", *sum((["--at", str(i)] for i in range(6)), []))
    assert many.code == 0 and "x=5" in many.stdout and "point" in many.stdout


def test_csv_one_row_per_point():
    run = cli("grad", "x*y", "--at", "x=1,y=2", "--at", "x=3,y=4", "--format", "csv")
    rows = list(csv.reader(io.StringIO(run.stdout)))
    assert rows[0] == ["x", "y", "f", "df/dx", "df/dy"]
    assert [list(map(float, r)) for r in rows[1:]] == [[1, 2, 2, 2, 1], [3, 4, 12, 4, 3]]


def test_plain_tensor_entries_space_separated():
    run = cli("grad", "x*y**2", "--order", "2", "--at", "x=1,y=2", "--format", "plain")
    assert run.stdout.splitlines() == ["4 4", "0 4 4 2"]


def test_precision_32_computes_in_float32():
    d64 = cli("grad", "sin(x)", "--at", "0.1", "--format", "json").json()
    d32 = cli("grad", "sin(x)", "--at", "0.1", "--format", "json", "--precision", "32").json()
    v64, v32 = d64["results"][0]["derivatives"]["1"], d32["results"][0]["derivatives"]["1"]
    assert v64 == pytest.approx(np.cos(0.1), rel=1e-15)
    assert v32 == float(np.float32(v32)) and v32 != v64
    assert v32 == pytest.approx(np.cos(0.1), rel=1e-6)


def test_nonfinite_results_are_reported_not_hidden():
    run = cli("grad", "log(x)", "--at", "-1", "--format", "json")
    doc = json.loads(run.stdout)
    assert doc["results"][0]["value"] is None
    assert doc["warnings"] and "not finite" in doc["warnings"][0]
    assert "warning:" in run.stderr
    table = cli("grad", "log(x)", "--at", "-1")
    assert "nan" in table.stdout


def test_high_order_is_fast_and_right():
    # d^50/dx^50 e^(2x) = 2^50 e^(2x)
    doc = cli("grad", "exp(2*x)", "--order", "50", "--at", "0.5", "--format", "json").json()
    assert doc["results"][0]["derivatives"]["50"] == pytest.approx(2.0 ** 50 * np.e,
                                                                   rel=1e-12)


@pytest.mark.parametrize("suffix", [".json", ".csv", ".npy", ".npz"])
def test_out_file_replaces_stdout(tmp_cwd, suffix):
    path = tmp_cwd / f"r{suffix}"
    run = cli("grad", "x*y", "--at", "x=1,y=2", "--at", "x=3,y=4", "--out", str(path))
    assert run.code == 0 and run.stdout == "" and path.exists()
    if suffix == ".json":
        assert json.loads(path.read_text())["results"][1]["derivatives"]["1"] == [4.0, 3.0]
    elif suffix == ".csv":
        assert path.read_text().splitlines()[2] == "3.0,4.0,12.0,4.0,3.0"
    elif suffix == ".npy":
        assert np.load(path).tolist() == [[2.0, 1.0], [4.0, 3.0]]
    else:
        with np.load(path) as z:
            assert z["value"].tolist() == [2.0, 12.0] and z["d1"].shape == (2, 2)
    assert [p.name for p in tmp_cwd.iterdir()] == [path.name]  # no temporary left


def test_failed_run_leaves_no_out_file(tmp_cwd):
    run = cli("grad", "x*y", "--at", "x=1", "--out", "r.json")
    assert_user_error(run, "no value for y")
    assert list(tmp_cwd.iterdir()) == []


# ---------------------------------------------------------------- errors

ERRORS = [
    (["grad", "x**", "--at", "1"], "column 4"),
    (["grad", "x +* 2", "--at", "1"], "column 4"),
    (["grad", "foo(x)", "--at", "1"], "unknown function 'foo'"),
    (["grad", "sinn(x)", "--at", "1"], "did you mean sin()"),
    (["grad", "sin(x, y)", "--at", "x=1,y=1"], "sin() takes 1 argument"),
    (["grad", "x*y", "--at", "x=1"], "no value for y"),
    (["grad", "x", "--at", "x=1,z=2"], "z is not a variable"),
    (["grad", "x*y", "--at", "1"], "a bare value needs exactly one variable"),
    (["grad", "x[0]", "--at", "x=1"], "x is a vector"),
    (["grad", "x[3]", "--at", "x=[1,2]"], "index 3 is out of range"),
    (["grad", "x*2", "--at", "[1,2]"], "needs a scalar"),
    (["grad", "x", "--at", "abc"], "is not a number"),
    (["grad", "x", "--at", "[1,2"], "brackets"),
    (["grad", "x", "--at", "1", "--order", "0"], "--order 0 is out of range"),
    (["grad", "x", "--at", "1", "--order", "151"], "out of range"),
    (["grad", "x", "--at", "1", "--order", "31", "--precision", "32"], "out of range"),
    (["grad", "x*y", "--at", "x=1,y=1", "--wrt", "q"], "--wrt q"),
    (["grad", "x", "--at", "1", "--format", "xml"], "--format"),
    (["grad", "x", "--at", "1", "--precision", "16"], "--precision"),
    (["grad", "x", "--at", "1", "--out", "r.txt"], "unknown file type"),
    (["grad", "x", "--at", "1", "--out", "/no/such/dir/r.json"], "does not exist"),
    (["grad", "L(x)", "--def", "L(u) = L(u)", "--at", "1"], "calls itself"),
    (["grad", "L(x, 1)", "--def", "L(u) = u", "--at", "1"], "L() takes 1 argument"),
    (["grad", "x", "--def", "sin(u) = u", "--at", "1"], "built-in"),
    (["grad", "x", "--def", "nonsense", "--at", "1"], "NAME(ARGS) = BODY"),
    (["grad", "sum(v)", "--at", "v=[1,2]", "--order", "30"], "entries"),
    (["grad", "diff(x**2, 3)", "--at", "1"], "must be a variable name"),
    (["grad", "x"], "no point given"),
    (["grad"], "Missing argument"),
    (["grad", "x", "--bogus"], "--bogus"),
    (["grad", "--ordr", "3", "x"], "no such option --ordr: did you mean --order?"),
    (["grad", "--fromat", "plain", "x", "--at", "1"], "did you mean --format?"),
    (["grad", "x", "--at", "1", "--order"], "'--order' requires an argument. (see: autodx grad"),
    (["nosuch"], "No such command"),
]


@pytest.mark.parametrize("args, fragment", ERRORS)
def test_bad_input_is_one_error_line_exit_2(args, fragment, tmp_cwd):
    assert_user_error(cli(*args), fragment)


def test_errors_through_a_real_process_have_no_traceback():
    run = subprocess_cli("grad", "x.__class__", "--at", "1")
    assert_user_error(run, "attribute access")


def test_debug_env_shows_the_traceback():
    run = subprocess_cli("grad", "x +", "--at", "1", env={"AUTODX_DEBUG": "1"})
    assert run.code != 0 and "Traceback" in run.stderr


# ---------------------------------------------------------------- help and version

def test_help_and_version_do_not_import_jax():
    for args in (["--help"], ["grad", "--help"], ["--version"]):
        code = ("import sys; from autodx.cli import main; sys.argv = ['autodx', *%r]\n"
                "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
                "assert 'jax' not in sys.modules, 'jax was imported'" % (args,))
        import subprocess
        import sys

        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr


def test_version_names_what_a_bug_report_needs():
    import platform
    from importlib import metadata

    import autodx

    run = subprocess_cli("--version")
    lines = run.stdout.splitlines()
    assert run.code == 0 and lines[0] == f"autodx {autodx.__version__}"
    assert lines[1] == f"jax {metadata.version('jax')}"
    assert lines[2] == f"jaxlib {metadata.version('jaxlib')}"
    assert lines[3].startswith(f"python {platform.python_version()} (")
    assert lines[4].startswith("accelerator plugins: ") and len(lines) == 5
    verbose = subprocess_cli("--version", "--verbose")
    assert verbose.stdout.startswith(run.stdout)
    assert verbose.stdout.splitlines()[-1].startswith("devices: cpu:0")


def test_help_is_plain_text_that_starts_at_once():
    for args in ([], ["--help"], ["grad", "--help"], ["cache"]):
        run = cli(*args)
        assert run.code == 0 and run.stderr == "", (args, run)
        lines = run.stdout.splitlines()
        assert lines[0].startswith("Usage: autodx"), (args, lines[0])
        assert all(line == line.rstrip() for line in lines), args


def test_format_and_out_together_are_refused(tmp_cwd):
    assert_user_error(cli("grad", "x", "--at", "1", "-f", "plain", "-o", "r.csv"),
                      "--format and --out")
    assert not (tmp_cwd / "r.csv").exists()


def test_shell_completion_completes_commands_and_options():
    def complete(words: str) -> list[str]:
        env = {"_AUTODX_COMPLETE": "complete_bash", "COMP_WORDS": words,
               "COMP_CWORD": str(len(words.split()) - 1)}
        return subprocess_cli(env=env).stdout.split()
    assert complete("autodx gr") == ["grad"]
    assert complete("autodx grad x --ord") == ["--order"]
    assert "--install-completion" in cli("--help").stdout


def test_grad_help_teaches_with_examples():
    run = cli("grad", "--help")
    assert run.code == 0
    for text in ("--order", "--at", "--wrt", "--def", "--precision", "--format", "--out",
                 "Examples", "autodx grad"):
        assert text in run.stdout


def test_installed_console_script_runs():
    import shutil
    import subprocess
    import sys

    beside = os.path.join(os.path.dirname(sys.executable), "autodx")
    exe = beside if os.path.exists(beside) else shutil.which("autodx")
    if exe is None:  # the test command installs the package, so this is a failure
        pytest.fail("the autodx console script is not on PATH")
    p = subprocess.run([exe, "grad", "x**2", "--at", "3", "--format", "plain"],
                       capture_output=True, text=True, env=dict(os.environ))
    assert p.returncode == 0 and p.stdout == "6\n"


def test_running_out_of_memory_is_one_error_line(monkeypatch):
    import autodx.api as api

    def huge(*a, **k):
        raise MemoryError()
    monkeypatch.setattr(api, "grad_rows", huge)
    run = cli("grad", "x**2", "--at", "1")
    assert_user_error(run, "out of memory", "--wrt")


@pytest.mark.parametrize("digits, want", [("4", ["0.5403", "-0.8415"]),
                                          ("17", ["0.54030230586813977", "-0.8414709848078965"])])
def test_digits_for_table_and_plain(digits, want):
    plain = cli("grad", "sin(x)", "--at", "1", "-n", "2", "--digits", digits, "-f", "plain")
    assert plain.stdout.split() == want
    assert [float(v) for v in want] == pytest.approx([math.cos(1), -math.sin(1)],
                                                     rel=10 ** -(int(digits) - 1))
    table = cli("grad", "sin(x)", "--at", "1", "-n", "2", "--digits", digits)
    assert all(w in table.stdout.split() for w in want)
    doc = cli("grad", "sin(x)", "--at", "1", "--digits", "3", "-f", "json").json()
    assert doc["results"][0]["derivatives"]["1"] == math.cos(1)  # JSON: every digit
    assert_user_error(cli("grad", "x", "--at", "1", "--digits", "0"), "--digits 0")


# ---------------------------------------------------------------- coordinates and --wrt

def test_coordinates_in_natural_order_and_points_line_up_with_their_columns():
    run = cli("grad", "x10*x2 + x1", "--at", "x1=1,x2=2,x10=3", "-f", "csv")
    header, row = run.stdout.splitlines()
    assert header == "x1,x2,x10,f,df/dx1,df/dx2,df/dx10"
    assert row == "1.0,2.0,3.0,7.0,1.0,3.0,2.0"  # df/dx2 = x10, df/dx10 = x2


@pytest.mark.parametrize("wrt", [["--wrt", "w,b"], ["--wrt", "w", "--wrt", "b"]])
def test_wrt_order_is_kept_and_repeats_accumulate(wrt):
    doc = cli("grad", "w*b**2", "--at", "w=1,b=3", *wrt, "-n", "2", "-f", "json").json()
    assert doc["coordinates"] == ["w", "b"]
    d = doc["results"][0]["derivatives"]
    assert d["1"] == [9.0, 6.0] and d["2"] == [[0.0, 6.0], [6.0, 2.0]]


def test_wrt_one_entry_of_a_vector(tmp_cwd):
    doc = cli("grad", "sum(z**2)*y", "--at", "z=[1,2,3],y=2", "--wrt", "z[1]", "--wrt", "y",
              "-n", "2", "-f", "json").json()
    assert doc["coordinates"] == ["z[1]", "y"]
    d = doc["results"][0]["derivatives"]
    assert d["1"] == [8.0, 14.0] and d["2"] == [[4.0, 4.0], [4.0, 0.0]]
    j = cli("jvp-partial", "prod(z)*y", "--at", "z=[1,2,3],y=2", "--wrt", "y,z[2]",
            "--indices", "0,1", "-f", "json").json()
    assert j["results"][0]["partial"] == 2.0  # d2/dy dz[2] of y z0 z1 z2 = z0 z1
    assert cli("grad", "x*y", "--at", "x=1,y=2", "-o", "r.npz").code == 0
    import numpy as np

    assert np.load("r.npz")["coordinates"].tolist() == ["x", "y"]  # labelled arrays


@pytest.mark.parametrize("args, fragment", [
    (["--wrt", "z[5]"], "z has 3 entries, 0 to 2"),
    (["--wrt", "z,z[1]"], "give one or the other"),
    (["--wrt", "y,y"], "names y twice"),
    (["--wrt", "q[0]"], "not a variable"),
    (["--wrt", "y[0]"], "y is a number, not a vector"),
])
def test_wrt_errors(args, fragment):
    assert_user_error(cli("grad", "sum(z)*y", "--at", "z=[1,2,3],y=2", *args), fragment)


def test_hints_for_what_people_type():
    assert_user_error(cli("grad", "sin x", "--at", "1"), "did you mean sin(x)?")
    run = cli("grad", "e^x", "--at", "e=2,x=3", "-f", "plain")
    # d/de e^x = x e^(x-1) = 12, d/dx e^x = e^x log e = 8 log 2
    assert run.code == 0 and [float(v) for v in run.stdout.split()] == \
        pytest.approx([12.0, 8 * math.log(2)], rel=1e-15)
    assert run.stderr.splitlines() == [
        "warning: e is a variable here (column 1); Euler's number is E, as in E**x, or "
        "exp(x)"]
    assert cli("grad", "E^x", "--at", "0", "-f", "plain").stderr == ""
