"""render: a Result -> JSON document, CSV rows, plain lines, tables, warnings. The
results are built by hand (no JAX), so every expected text is known exactly."""
from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest

from autodx import csvout, render
from autodx.data import Rows
from autodx.result import SCHEMA, Command, Result


def _hessian(values=None) -> Result:
    rows = Rows(2, {"x": np.array([1.0, 2.0])}, {"y": np.asarray(3.0)})
    values = values or {"value": np.array([3.0, 6.0]),
                        "hessian": np.zeros((2, 2, 2)) + [[0.0, 1.0], [1.0, 0.0]]}
    return Result(Command.hessian, "x*y", ["x", "y"], rows, values)


def test_numbers_for_people_and_for_machines():
    assert render.number(1 / 3) == "0.333333333333"
    assert render.number(1 / 3, 32) == "0.333333"
    assert render.number(-0.0) == "0" and render.number(math.inf) == "inf"
    assert render.exact(0.1) == "0.1" and float(render.exact(1 / 3)) == 1 / 3
    assert render.exact(-0.0) == "0.0" and render.exact(math.nan) == "nan"


def test_json_document_has_the_schema_and_value_everywhere():
    doc = render.document(_hessian())
    assert doc["schema"] == SCHEMA and doc["command"] == "hessian"
    assert doc["results"][1] == {"at": {"x": 2.0, "y": 3.0}, "value": 6.0,
                                 "hessian": [[0.0, 1.0], [1.0, 0.0]]}
    json.dumps(doc, allow_nan=False)


def test_non_finite_numbers_are_null_with_a_warning():
    r = _hessian({"value": np.array([3.0, math.nan]),
                  "hessian": np.array([[[0.0, 1.0], [1.0, 0.0]], [[math.inf, 1.0],
                                                                  [1.0, 0.0]]])})
    doc = render.document(r)
    assert doc["results"][1]["value"] is None
    assert doc["results"][1]["hessian"][0][0] is None
    assert "point 2: the value is nan (not finite)" in doc["warnings"]
    lines = render.nonfinite_warnings(r)
    assert len(lines) == 2 and lines[0].startswith("the value is not finite at 1 of 2")
    assert "first: x=2, y=3" in lines[0] and lines[1].startswith("the Hessian")


def _csv(r) -> list[list[str]]:
    import csv

    return list(csv.reader(io.StringIO("".join(csvout.csv_text(r)))))


def test_csv_rows_lead_with_the_point():
    rows = _csv(_hessian())
    assert rows[0] == ["x", "y", "f", "d2f/dx^2", "d2f/dx dy", "d2f/dy^2"]
    assert rows[2] == ["2.0", "3.0", "6.0", "0.0", "1.0", "0.0"]


def test_plain_is_one_matrix_row_a_line():
    assert render.plain(_hessian()) == ["0 1", "1 0", "0 1", "1 0"]


def test_perex_csv_is_the_gradients_alone():
    r = Result(Command.perex, "(w*x)**2", ["w"], Rows(2, None, {"w": np.asarray(1.0)}),
               {"grad": np.array([[2.0], [8.0]])}, params={"w": None})
    assert _csv(r) == [["df/dw"], ["2.0"], ["8.0"]]
    assert render.document(r)["results"][1] == {"at": {"w": 1.0}, "grad": {"w": 8.0}}


def _text(renderable) -> str:
    from rich.console import Console

    out = io.StringIO()
    Console(file=out, width=120, highlight=False, markup=False).print(renderable)
    return out.getvalue()


def test_tables_show_every_label_literally():
    r = Result(Command.hessian, "sin(x*b)", ["b", "x"], Rows(1, None, {"b": np.asarray(1.0),
                                                                      "x": np.asarray(2.0)}),
               {"value": np.array([0.5]), "hvp": np.array([[1.5, -2.0]])}, hvp=[1.0, 0.0])
    text = _text(render.table(r))
    assert "Hv[b]" in text and "Hv[x]" in text and "-2" in text and "1.5" in text
    matrix = _text(render.table(_hessian()))
    assert "Hessian of f = x*y" in matrix and "at x=1, y=3; f = 3" in matrix


# ---------------------------------------------------------------- no digit is ever dropped

TABLE_CASES = {
    "grad one variable": ["grad", "sin(x)*exp(x)", "--order", "5", "--at", "0.5"],
    "grad 5 points": ["grad", "sin(x)*exp(y)*1000", "--order", "2"] +
    [a for i in range(5) for a in ("--at", f"x={i},y={i / 3}")],
    "hessian of 8": ["hessian", "sum(exp(x))*norm(x)*1000", "--at", "[1,2,3,4,5,6,7,8]"],
    "hvp": ["hessian", "sum(exp(x))*norm(x)", "--at", "[1,2,3]", "--hvp", "[1,0,-1]"],
    "jvp-partial": ["jvp-partial", "prod(x)*1e6", "--indices", "0,2,4", "--data", "m.csv"],
    "perex": ["perex", "(w*x - y)**2", "--wrt", "w", "--at", "w=0.5", "--data", "xy.csv"],
    "check": ["grad", "atan2(y, x)", "--order", "2", "--at", "x=1,y=2", "--check"],
    "symbolic": ["grad", "x**3*y*exp(y)", "--order", "2", "--at", "x=1,y=2", "--symbolic"],
}


def _numbers_of(doc) -> list[float]:
    """Every number of a JSON document's results (not its points)."""
    out = []

    def walk(v):
        if isinstance(v, dict):
            for k, x in v.items():
                if k not in ("at", "check"):
                    walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, float):
            out.append(v)
    walk(doc["results"])
    return out


@pytest.mark.parametrize("columns", ["40", "80", "200", None])
@pytest.mark.parametrize("case", sorted(TABLE_CASES))
def test_a_table_never_drops_a_digit_or_a_column(case, columns, tmp_cwd):
    from typer.testing import CliRunner

    from autodx.cli import app

    (tmp_cwd / "m.csv").write_text("x[0],x[1],x[2],x[3],x[4]\n" + "".join(
        ",".join(str(5 * r + c + 1) for c in range(5)) + "\n" for r in range(5)))
    (tmp_cwd / "xy.csv").write_text("x,y\n" + "".join(f"{i},{3 * i + 1}\n" for i in range(6)))
    args = TABLE_CASES[case]
    env = {"COLUMNS": columns} if columns else {}
    table = CliRunner(env=env).invoke(app, args)
    assert table.exit_code == 0, table.output
    doc = json.loads(CliRunner().invoke(app, [*args, "--format", "json"]).stdout)
    text = table.stdout
    assert "…" not in text
    lines = text.splitlines()
    assert all(line == line.rstrip() for line in lines)  # no padding at line ends
    if columns:
        assert max(map(len, lines)) <= int(columns), text
    tokens = set(text.replace("│", " ").replace("┃", " ").split())
    wanted = {render.number(v) for v in _numbers_of(doc)}
    assert wanted <= tokens, sorted(wanted - tokens)


@pytest.mark.parametrize("writer", ["orjson", "repr"])
def test_csv_numbers_read_back_to_the_same_float64(writer, monkeypatch):
    import builtins

    if writer == "repr":  # as where orjson is not installed
        real = builtins.__import__

        def no_orjson(name, *a, **k):
            if name == "orjson":
                raise ImportError(name)
            return real(name, *a, **k)
        monkeypatch.setattr(builtins, "__import__", no_orjson)
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.normal(size=3000) * 10.0 ** rng.integers(-300, 300, 3000),
                             [0.0, -0.0, 1e16, 1e-5, 5e-324, 1.7976931348623157e308, 0.1]])
    r = Result(Command.perex, "w", ["a", "b"], Rows(values.size // 2),
               {"grad": values[: values.size // 2 * 2].reshape(-1, 2)}, params={"a": None,
                                                                               "b": None})
    rows = _csv(r)
    back = np.array([[float(v) for v in row] for row in rows[1:]])
    assert rows[0] == ["df/da", "df/db"] and back.shape == r.values["grad"].shape
    assert np.array_equal(back, r.values["grad"])  # every bit, every row, in order
    if writer == "repr":  # (orjson writes 1e16 where repr writes 1e+16: the same float)
        assert all(v == render.exact(float(v)) for row in rows[1:] for v in row)


def test_csv_of_non_finite_numbers():
    r = Result(Command.perex, "w", ["a"], Rows(3), {"grad": np.array([[np.nan], [np.inf],
                                                                      [-np.inf]])},
               params={"a": None})
    assert _csv(r) == [["df/da"], ["nan"], ["inf"], ["-inf"]]
