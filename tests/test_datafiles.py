"""--data files that are odd, damaged or hostile: every row is read or refused with one
`error:` line naming the file and line; memory is bounded in bytes; nothing of a file is
echoed beyond about 60 characters."""
from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
import time
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest

from autodx import csvfiles, datafiles
from autodx.csvfiles import Dialect
from autodx.errors import DataError
from conftest import assert_user_error, cli, subprocess_cli


def _rows(source, size):
    return [{k: v.tolist() for k, v in chunk.items()} for chunk in source.chunks(size)]


# ---------------------------------------------------------------- '#' is no comment

HASH_ROWS = [  # (file, error): numpy's default comment handling dropped or cut each
    ("x\n1\n#2\n3\n", "line 3, column 1: '#2' is not a number"),
    ("x\n1\n3 # four\n", "line 3, column 1: '3 # four' is not a number"),
    ("x\n#\n1\n", "line 2, column 1: '#' is not a number"),
    ("x,y\n1,2 # note\n", "line 2, column 2: '2 # note' is not a number"),
    ("x,y\n1,2\n# 3,4\n5\n", "line 3, column 1: '# 3' is not a number"),  # then ragged
    ("x,y\n1,2\n#3\n", "line 3: 1 fields where the header has 2"),
    ("1\n#2\n", "line 2, column 1: '#2' is not a number"),  # no header
]


@pytest.mark.parametrize("text, message", HASH_ROWS)
def test_a_hash_in_a_row_is_an_error_not_a_comment(tmp_cwd, text, message):
    (tmp_cwd / "d.csv").write_text(text)
    expr = "x*y" if text.startswith("x,y") else "x**2"
    run = cli("grad", expr, "--data", "d.csv", "--out", "r.json")
    assert_user_error(run, f"d.csv, {message}")
    assert not (tmp_cwd / "r.json").exists()


@pytest.mark.parametrize("size", [1, 2, 3, 1000])
def test_a_hash_row_is_found_in_any_chunk(tmp_path, size):
    """The fast path (numpy over a chunk) and the line-by-line search agree whatever
    chunk the row falls in."""
    path = tmp_path / "d.csv"
    path.write_text("x\n" + "1\n" * 5 + "#6\n" + "7\n" * 3)
    source = datafiles.open_source(str(path), ["x"], {}, [])
    with pytest.raises(DataError, match=r"line 7, column 1: '#6' is not a number"):
        _rows(source, size)


@pytest.mark.parametrize("cell, message", [
    ("1_000", "'1_000' is not a number"),  # float() takes it, numpy does not
    ("\u0661", "'\u0661' is not a number"),  # an Arabic-Indic digit, likewise
    ("  ", "the field is empty"),
])
def test_the_line_search_finds_what_numpy_refused(tmp_path, cell, message):
    path = tmp_path / "d.csv"
    path.write_text(f"x\n1\n{cell}\n", encoding="utf-8")
    with pytest.raises(DataError, match=f"line 3, column 1: {message}"):
        _rows(datafiles.open_source(str(path), ["x"], {}, []), 100)


def test_blank_lines_and_line_ends_are_not_rows(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"x,y\r\n1,2\r\n\r\n3,4\r5,6")
    assert _rows(datafiles.open_source(str(path), ["x", "y"], {}, []), 100) == [
        {"x": [1.0, 3.0, 5.0], "y": [2.0, 4.0, 6.0]}]


# ---------------------------------------------------------------- headers that read as numbers

@pytest.mark.parametrize("name", ["inf", "nan", "Infinity", "NaN"])
def test_a_variable_named_like_a_number_keeps_its_header(tmp_cwd, name):
    (tmp_cwd / "d.csv").write_text(f"{name}\n1\n2\n")
    run = cli("grad", f"{name}**2", "--data", "d.csv", "--format", "plain")
    assert run.code == 0, run
    assert run.stdout.split() == ["2", "4"]


def test_inf_without_a_header_is_still_a_value(tmp_cwd):
    (tmp_cwd / "d.csv").write_text("inf\n1\n")
    run = cli("grad", "x", "--data", "d.csv", "--format", "csv")
    assert run.code == 0, run
    assert [line.split(",")[0] for line in run.stdout.splitlines()[1:]] == ["inf", "1.0"]


# ---------------------------------------------------------------- bounded by bytes

def test_a_line_over_the_limit_is_an_error(tmp_cwd, monkeypatch):
    monkeypatch.setattr(csvfiles, "MAX_LINE", 1000)
    (tmp_cwd / "d.csv").write_text("x\n1\n" + "2" * 5000 + "\n3\n")
    assert_user_error(cli("grad", "x**2", "--data", "d.csv"),
                      "d.csv, line 3: longer than 1,000 characters")
    (tmp_cwd / "d.csv").write_text("x" * 5000)  # the header too, and with no line end
    assert_user_error(cli("grad", "x**2", "--data", "d.csv"), "d.csv, line 1: longer than")


def test_an_endless_line_is_refused_in_bounded_memory(monkeypatch):
    monkeypatch.setattr(csvfiles, "MAX_LINE", 100_000)
    monkeypatch.setattr(csvfiles, "_BLOCK", 4096)
    text = io.StringIO("x\n1\n" + "1" * 10_000_000)
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="line 3: longer than 100,000"):
            _rows(csvfiles.csv_source(text, "s", ["x"], {}, []), 1000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000, peak


def test_a_chunk_holds_a_bounded_amount_of_text(tmp_path, monkeypatch):
    monkeypatch.setattr(csvfiles, "CHUNK_TEXT", 100)
    monkeypatch.setattr(csvfiles, "_BLOCK", 64)
    path = tmp_path / "d.csv"
    path.write_text("x\n" + "".join(f"{i}.{'0' * 30}\n" for i in range(40)))
    sizes = [len(c["x"]) for c in datafiles.open_source(str(path), ["x"], {}, []).chunks(1000)]
    assert sum(sizes) == 40 and max(sizes) <= 8, sizes
    rows = _rows(datafiles.open_source(str(path), ["x"], {}, []), 1000)
    assert [v for c in rows for v in c["x"]] == list(range(40))


def test_dev_zero_and_a_20_mb_line_are_refused_within_seconds(tmp_path):
    """/dev/zero is no regular file, refused before it is opened; a 20 MB line in one
    is refused at the line limit."""
    assert os.path.exists("/dev/zero")  # Linux, as everywhere autodx runs its suite
    start = time.monotonic()
    assert_user_error(subprocess_cli("grad", "x**2", "--data", "/dev/zero"),
                      "--data /dev/zero: is a character device, not a regular file")
    big = tmp_path / "big.csv"
    big.write_text("x\n1\n" + "1" * (20 << 20) + "\n")
    assert_user_error(subprocess_cli("grad", "x**2", "--data", str(big)),
                      "big.csv, line 3: longer than")
    assert time.monotonic() - start < 60


# ---------------------------------------------------------------- file content quoted, cut short

def test_quoted_cuts_long_and_escaped_text():
    assert datafiles.quoted("abc") == "'abc'"
    for text in ("y" * 10_000, "\x00" * 10_000, "é" * 10_000):
        shown = datafiles.quoted(text)
        assert shown.endswith("...") and len(shown) <= 66, shown


def _short_error(run, *fragments):
    assert_user_error(run, *fragments)
    assert len(run.stderr) < 400, run.stderr
    return run.stderr


@pytest.mark.parametrize("text, args", [
    ("S" * 5000 + "\n1\n", ["x"]),                # a header field that is no name
    ("x,q" + "q" * 5000 + "\n1,2\n", ["x*y"]),     # a missing column; others named
    ("x\n1\n" + "z" * 5000 + "\n", ["x"]),         # a cell that is no number
    ("SECRET=" + "s" * 5000 + "\x00HOME=/root\n", ["x"]),  # what /proc/self/environ holds
])
def test_errors_quote_at_most_about_60_characters_of_a_file(tmp_cwd, text, args):
    (tmp_cwd / "d.csv").write_text(text)
    _short_error(cli("grad", *args, "--data", "d.csv"), "d.csv")


def test_proc_self_environ_is_not_echoed(tmp_cwd, monkeypatch):
    assert os.path.exists("/proc/self/environ")  # Linux, as the worker's PDEATHSIG
    monkeypatch.setenv("AUTODX_TEST_SECRET", "s" * 200)
    stderr = _short_error(subprocess_cli("grad", "x", "--data", "/proc/self/environ"),
                          "/proc/self/environ")
    assert "s" * 60 not in stderr


def test_npz_member_names_and_vector_files_are_cut_short(tmp_cwd):
    np.savez("d.npz", x=np.zeros(2), **{"q" * 1000: np.zeros(2)})
    _short_error(cli("grad", "x", "--data", "d.npz"), "unknown array")
    (tmp_cwd / "v.txt").write_text("1 " + "z" * 5000)
    _short_error(cli("hessian", "x*y", "--at", "x=1,y=2", "--hvp", "v.txt"), "v.txt",
                 "is not a number")


def test_npz_member_names_are_checked_before_anything_is_unpacked(tmp_cwd):
    # a member that is not a variable is refused from the zip's directory: its bytes,
    # here damaged (once: 30,000,000 deflated zeros, 7 s and 390 MB), are never read
    with zipfile.ZipFile("d.npz", "w") as z:
        z.writestr("x.npy", _npy_bytes(np.zeros(2)))
        z.writestr("w.npy", b"\x93NUMPY damaged beyond reading")
    assert_user_error(cli("grad", "x", "--data", "d.npz"), "unknown array 'w'",
                      "it needs: x")


def _npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


@pytest.mark.parametrize("at", [
    "x=0.5,é==[" + ",".join(["1"] * 8490) + "],",  # found by the fuzzer: 17,141 characters
    "q" * 5000 + "=1," + "q" * 5000 + "=2",           # a long name given twice
    "x=" + "9" * 20000 + "q",                           # a long word
], ids=["not-name-value", "name-twice", "long-word"])
def test_at_entries_are_quoted_in_part(at):
    _short_error(cli("grad", "x", "--at", at), "--at")


# ---------------------------------------------------------------- exit 2, not 1

def test_an_npz_member_that_is_a_raw_pickle_is_refused(tmp_cwd):
    for member in ("x.npy", "x"):
        with zipfile.ZipFile("p.npz", "w") as z:
            z.writestr(member, pickle.dumps([1.0, 2.0]))
        assert_user_error(cli("grad", "x**2", "--data", "p.npz"), "p.npz",
                          "not a NumPy array")


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed])
def test_a_damaged_npz_is_refused(tmp_cwd, save):
    save("d.npz", x=np.arange(1000.0))
    raw = bytearray((tmp_cwd / "d.npz").read_bytes())
    raw[200:260] = b"\xff" * 60  # inside the member's data
    (tmp_cwd / "d.npz").write_bytes(bytes(raw))
    assert_user_error(cli("grad", "x**2", "--data", "d.npz"), "d.npz")


def test_data_from_a_closed_stdin_is_one_error_line():
    p = subprocess.run(["bash", "-c", f'"{sys.executable}" -m autodx grad "x**2" '
                        '--data - <&-'], capture_output=True, text=True, timeout=300)
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2 and p.stdout == "", p
    assert len(lines) == 1 and lines[0].startswith("error: ") and "standard input is closed" in lines[0], p


# ---------------------------------------------------------------- CSV as people have it

XY = [[1.0, 2.0], [3.0, 4.0], [-0.5, 1e-3]]  # the rows each file below holds, in order


def _xy_rows(run):
    """(x, y) of every row of a `grad "x*y" --format csv` run, checked against its
    derivatives (df/dx = y, df/dy = x: the seed values are the oracle)."""
    assert run.code == 0, run
    rows = [[float(v) for v in line.split(",")] for line in run.stdout.splitlines()[1:]]
    for x, y, f, dx, dy in rows:
        assert (f, dx, dy) == (x * y, y, x)
    return [r[:2] for r in rows]


DIALECTS = [  # (name, text, warning or None)
    ("comma", "x,y\n1,2\n3,4\n-0.5,1e-3\n", None),
    ("spaces after commas", "x, y\n1, 2\n3 ,4\n-0.5 , 1e-3\n", None),
    ("tab", "x\ty\n1\t2\n3\t4\n-0.5\t1e-3\n", None),
    ("semicolon", "x;y\n1;2\n3;4\n-0.5;1e-3\n", None),
    ("whitespace", "  x   y\n1 2\n 3\t 4\n   \n-0.5    1e-3  \n", None),
    ("CRLF tab", "x\ty\r\n1\t2\r\n3\t4\r\n-0.5\t1e-3\r\n", None),
    ("R write.csv", '"","x","y"\n"1",1,2\n"2",3,4\n"3",-0.5,1e-3\n',
     "ignored the unnamed index column (column 1)"),
    ("R write.csv, no row names", '"x","y"\n1,2\n3,4\n-0.5,1e-3\n', None),
    ("R read and written again", '"X","x","y"\n"1",1,2\n"2",3,4\n"3",-0.5,1e-3\n',
     "ignored the column 'X': not a variable of the expression (it needs: x, y)"),
    ("R write.table", '"x" "y"\n"a" 1 2\n"b c" 3 4\n"d" -0.5 1e-3\n',
     "ignored the unnamed index column (column 1)"),
    ("pandas to_csv", ",x,y\n0,1,2\n1,3,4\n2,-0.5,1e-3\n",
     "ignored the unnamed index column (column 1)"),
    ("pandas, read and written again", "Unnamed: 0,x,y\n0,1,2\n1,3,4\n2,-0.5,1e-3\n",
     "ignored the unnamed index column (column 1)"),
    ("quoted numbers", '"x","y"\n"1","2"\n"3","4"\n"-0.5","1e-3"\n', None),
    ("extra columns", 'id,y,label,x\n7,2,"one, two",1\n8,4,three,3\n9,1e-3,"",-0.5\n',
     "ignored the columns 'id', 'label': not variables of the expression (it needs: x, y)"),
    ("extra columns, tab", "label\tx\ty\nsetosa\t1\t2\nversicolor\t3\t4\nvirginica\t-0.5\t1e-3\n",
     "ignored the column 'label'"),
    ("index and extras", ',id,x,y\n0,a,1,2\n1,b,3,4\n2,c,-0.5,1e-3\n',
     "ignored the unnamed index column (column 1) and the column 'id': not a variable"),
]


@pytest.mark.parametrize("name, text, warning", DIALECTS, ids=[d[0] for d in DIALECTS])
def test_csv_as_people_have_it(tmp_cwd, name, text, warning):
    """Every row, in order, the same numbers; what is left out is said in one line."""
    (tmp_cwd / "d.csv").write_text(text)
    run = cli("grad", "x*y", "--data", "d.csv", "--format", "csv")
    assert _xy_rows(run) == XY
    if warning is None:
        assert run.stderr == "", run
    else:
        lines = run.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("warning: d.csv: "), run
        assert warning in lines[0], (warning, lines[0])


@pytest.mark.parametrize("name, text, warning", DIALECTS[:8], ids=[d[0] for d in DIALECTS[:8]])
def test_the_same_files_on_stdin_with_a_byte_order_mark(name, text, warning):
    run = cli("grad", "x*y", "--data", "-", "--format", "csv", input="\ufeff" + text)
    assert _xy_rows(run) == XY
    assert ("warning: stdin: " in run.stderr) == (warning is not None), run


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8"])
def test_a_byte_order_mark_on_stdin_through_a_real_pipe(tmp_path, encoding):
    path = tmp_path / "d.csv"
    path.write_text("x\ty\n1\t2\n", encoding=encoding)
    with open(path, "rb") as f:
        p = subprocess.run([sys.executable, "-m", "autodx", "grad", "x*y", "--data", "-",
                            "--format", "csv"], stdin=f, capture_output=True, text=True,
                           timeout=300)
    assert p.returncode == 0 and p.stderr == "", p
    assert p.stdout.splitlines()[1] == "1.0,2.0,2.0,2.0,1.0"


def test_a_byte_order_mark_read_as_latin_1_is_dropped_too():
    text = "\xef\xbb\xbfx,y\n1,2\n"  # the BOM's bytes, when stdin is not decoded as UTF-8
    source = csvfiles.csv_source(io.StringIO(text), "s", ["x", "y"], {}, [])
    assert _rows(source, 10) == [{"x": [1.0], "y": [2.0]}]


@pytest.mark.parametrize("size", [1, 2, 1000])
def test_extra_columns_in_any_chunk_size(tmp_path, size):
    path = tmp_path / "d.csv"
    path.write_text("id,x,word\n" + "".join(f"{i},{i / 2},w{i} x\n" for i in range(7)))
    source = datafiles.open_source(str(path), ["x"], {}, [])
    with pytest.warns(datafiles.DataWarning, match="'id', 'word'"):
        rows = _rows(source, size)
    assert [v for c in rows for v in c["x"]] == [i / 2 for i in range(7)]


def test_the_warning_comes_once_after_every_row_was_read(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("id,x\n1,2\n3,4\n")
    chunks = datafiles.open_source(str(path), ["x"], {}, []).chunks(1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        next(chunks)
        assert caught == []
        list(chunks)
    assert len(caught) == 1 and issubclass(caught[0].category, datafiles.DataWarning)


BAD_DIALECTS = [  # (file, expression, error): never a row dropped, altered or joined
    ("id,x,y\n0,1,2\n1,3\n", "x*y", "line 3: 2 fields where the header has 3"),
    ("id,x,y\n0,1,2\n1,3,4,5\n", "x*y", "line 3: 4 fields where the header has 3"),
    ("id,x,y\n0,1,2,5\n", "x*y", "line 2: 4 fields where the header has 3"),
    (",x,y\n0,1,2\n1,3\n", "x*y", "line 3: 2 fields where the header has 3"),
    ("x\ty\tlabel\n1\t2\ta\n3\t\tb\n", "x*y", "line 3, column 2: the field is empty"),
    ("x y label\n1 2 a\n3 4\n", "x*y", "line 3: 2 fields where the header has 3 "
                                        "(whitespace separated)"),
    ("x y\n1 2\n3 four\n", "x*y", "line 3, column 2: 'four' is not a number"),
    ("label,x\n\"abc,1\ndef,2\n", "x", "line 2: a quote (\") is not closed on its line"),
    ("x,y\n\"1\n\",2\n", "x*y", "line 2: a quote (\") is not closed on its line"),
    ("label;x;y\na;1,5;2\n", "x*y", "line 2, column 2: '1,5' is not a number"),
    ("x,y,\n1,2,\n3,4\n", "x*y", "line 3: 2 fields where the header has 3"),
]


@pytest.mark.parametrize("text, expr, message", BAD_DIALECTS)
def test_bad_rows_in_any_dialect_are_one_error_line(tmp_cwd, text, expr, message):
    (tmp_cwd / "d.csv").write_text(text)
    assert_user_error(cli("grad", expr, "--data", "d.csv", "--out", "r.json"),
                      f"d.csv, {message}")
    assert not (tmp_cwd / "r.json").exists()


def test_a_missing_variable_names_the_columns_that_were_there(tmp_cwd):
    (tmp_cwd / "d.csv").write_text("x,yy,label\n1,2,a\n")
    assert_user_error(cli("grad", "x*y", "--data", "d.csv"),
                      "d.csv: no column for y, and --at does not give it; the header's "
                      "other columns: 'yy', 'label'")


def test_a_column_that_at_gives_is_still_an_error(tmp_cwd):
    (tmp_cwd / "d.csv").write_text("x,a,label\n1,2,z\n")
    assert_user_error(cli("grad", "a*x", "--data", "d.csv", "--at", "a=1"),
                      "column 2: a is given by --at too")


def test_many_ignored_columns_make_one_short_line(tmp_cwd):
    names = [f"c{i}_" + "n" * 100 for i in range(50)]
    (tmp_cwd / "d.csv").write_text(",".join(names + ["x"]) + "\n"
                                   + ",".join(["w"] * 50 + ["2"]) + "\n")
    run = cli("grad", "x**2", "--data", "d.csv", "--format", "plain")
    assert run.code == 0 and run.stdout.split() == ["4"], run
    assert len(run.stderr.splitlines()) == 1 and len(run.stderr) < 300, run.stderr
    assert "and 45 more" in run.stderr


def test_a_headerless_file_in_any_dialect(tmp_cwd):
    for text in ("1\t2\n3\t4\n", "1 2\n3 4\n", "1;2\n3;4\n"):
        (tmp_cwd / "d.csv").write_text(text)
        run = cli("grad", "sum(v**2)", "--data", "d.csv", "--format", "json")
        assert [r["value"] for r in run.json()["results"]] == [5.0, 25.0], (text, run)


def test_dialect_detection():
    assert Dialect.of("x\ty,z", None).delimiter == "\t"
    assert Dialect.of('"a,b";x', None).delimiter == ";"  # a comma inside quotes is text
    assert Dialect.of("x", "1 2").delimiter is None     # one name: the rows say
    assert Dialect.of("x", "1").delimiter == ","
    assert Dialect.of('"x" "y"', None).split('"b c" 3 "d""e"') == ["b c", "3", 'd"e']
