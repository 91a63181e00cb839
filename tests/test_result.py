"""The result model: one table says what a result of each command holds. Every command
has a complete entry, and the entries, JSON fields, plain lines and arrays agree with
each other and with hand-computed values."""
from __future__ import annotations

import numpy as np
import pytest

from autodx.data import Rows
from autodx.result import SPECS, Command, Result, entry_label, flat_labels


def _rows(n: int = 2) -> Rows:
    return Rows(n, {"x": np.arange(n, dtype=float)}, {"y": np.asarray(2.0)})


def test_every_command_has_a_complete_spec():
    assert set(SPECS) == set(Command)
    for spec in SPECS.values():
        for part in ("keys", "value", "json", "plain", "arrays", "main"):
            assert callable(getattr(spec, part))


def test_labels():
    assert flat_labels({"b": None, "z": 2}) == ["b", "z[0]", "z[1]"]
    coords = ["x", "y"]
    assert entry_label(coords, []) == "f"
    assert entry_label(coords, [0, 1]) == "d2f/dx dy"
    assert entry_label(coords, [1, 1, 1]) == "d3f/dy^3"
    assert entry_label(coords, {"hvp": 1}) == "Hv[y]"


def _grad() -> Result:
    # f = x*y at (0, 2) and (1, 2): gradient (y, x), Hessian [[0, 1], [1, 0]]
    values = {"value": np.array([0.0, 2.0]),
              "derivatives": {1: np.array([[2.0, 0.0], [2.0, 1.0]]),
                              2: np.array([[[0.0, 1.0], [1.0, 0.0]]] * 2)}}
    return Result(Command.grad, "x*y", ["x", "y"], _rows(), values, order=2)


def test_grad_entries_json_plain_and_arrays_agree():
    r = _grad()
    assert r.labels() == ["f", "df/dx", "df/dy", "d2f/dx^2", "d2f/dx dy", "d2f/dy^2"]
    assert [v for _, v in r.entries(1)] == [2.0, 2.0, 1.0, 0.0, 1.0, 0.0]
    item = r.json_item(1, lambda v, what: np.asarray(v).tolist())
    assert item == {"value": 2.0, "derivatives": {"1": [2.0, 1.0],
                                                 "2": [[0.0, 1.0], [1.0, 0.0]]}}
    assert [np.ravel(a).tolist() for a in r.plain_lines(1)] == [[2.0, 1.0],
                                                                [0.0, 1.0, 1.0, 0.0]]
    assert sorted(r.arrays()) == ["at_x", "at_y", "coordinates", "d1", "d2", "value"]
    assert r.main_array() == "d2" and r.arrays()["coordinates"].tolist() == ["x", "y"]
    assert r.arrays()["at_x"].tolist() == [0.0, 1.0] and r.arrays()["at_y"].tolist() == [2.0, 2.0]


def test_symbolic_texts_take_the_shape_of_the_json_results():
    r = _grad()
    r.symbolic = ["x*y", "y", "x", "0", "1", "0"]
    assert r.symbolic_json() == {"value": "x*y", "derivatives": {
        "1": ["y", "x"], "2": [["0", "1"], ["1", "0"]]}}


def test_scalar_grad_has_one_number_per_order():
    values = {"value": np.array([1.0]), "derivatives": {1: np.array([3.0]),
                                                        2: np.array([6.0])}}
    r = Result(Command.grad, "x**3", ["x"], Rows(1), values, order=2, scalar=True)
    assert r.keys() == [[], [0], [0, 0]]
    assert r.labels() == ["f", "df/dx", "d2f/dx^2"]
    assert r.json_item(0, lambda v, what: float(v)) == {
        "value": 1.0, "derivatives": {"1": 3.0, "2": 6.0}}


@pytest.mark.parametrize("hvp", [None, [1.0, 0.0]])
def test_hessian_and_hvp(hvp):
    h = np.array([[[0.0, 1.0], [1.0, 0.0]]])
    values = {"value": np.array([2.0]), "hessian" if hvp is None else "hvp":
              h if hvp is None else h @ np.array(hvp)}
    r = Result(Command.hessian, "x*y", ["x", "y"], Rows(1), values, hvp=hvp)
    item = r.json_item(0, lambda v, what: np.asarray(v).tolist())
    assert item["value"] == 2.0
    if hvp is None:
        assert r.labels() == ["f", "d2f/dx^2", "d2f/dx dy", "d2f/dy^2"]
        assert item["hessian"] == [[0.0, 1.0], [1.0, 0.0]] and r.main_array() == "hessian"
        assert r.spec.matrix(r) == "hessian"
    else:
        assert r.labels() == ["f", "Hv[x]", "Hv[y]"]
        assert item["hvp"] == [0.0, 1.0] and r.main_array() == "hvp"
        assert r.spec.matrix(r) is None


def test_jvp_partial_value_is_f_and_partial_its_own_key():
    values = {"value": np.array([120.0]), "partial": np.array([8.0])}
    r = Result(Command.jvp_partial, "prod(x)", [f"x[{i}]" for i in range(5)], Rows(1),
               values, indices=[4, 0, 2])
    assert r.labels() == ["f", "d3f/dx[0] dx[2] dx[4]"]
    assert r.json_item(0, lambda v, what: float(v)) == {"value": 120.0, "partial": 8.0}
    assert sorted(r.arrays()) == ["coordinates", "partial", "value"]
    assert r.main_array() == "partial"


def test_perex_splits_the_gradient_by_parameter():
    values = {"grad": np.array([[1.0, 2.0, 3.0]])}
    r = Result(Command.perex, "...", ["b", "w[0]", "w[1]"], Rows(1), values,
               params={"b": None, "w": 2})
    assert r.labels() == ["df/db", "df/dw[0]", "df/dw[1]"]
    assert r.json_item(0, lambda v, what: np.asarray(v).tolist()) == {
        "grad": {"b": 1.0, "w": [2.0, 3.0]}}
    assert not r.spec.points_in_csv and r.spec.flat == "grad"
