"""The Python API as a user of Python, JAX and Jupyter meets it: ``autodx.function``
against closed forms and JAX's own derivatives of hand-written ``jnp`` functions,
``data=`` from arrays, dicts and DataFrames, the results' reprs, and the types mypy
sees. Oracles: closed forms, ``jax`` on ``jnp`` code, and sympy."""
from __future__ import annotations

import html
import inspect
import math
import os
import re
import subprocess
import sys
import textwrap
import tomllib
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp

import autodx
from autodx.errors import InputError
from autodx.sources import DataWarning
from conftest import ROOT

API = ["grad", "hessian", "jvp_partial", "perex", "expression", "function", "formula",
       "Expression", "Function", "Formula", "GradResult", "GradRows"]


# ---------------------------------------------------------------- the package

def test_import_is_cheap_and_dir_lists_the_api():
    code = ("import sys, autodx; names = dir(autodx); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'jax', 'numpy', 'sympy'}));"
            "print(' '.join(names))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out[0] == "[]"
    listed = out[1].split()
    assert set(API) <= set(listed) and "_API" not in listed and "TYPE_CHECKING" not in listed
    assert set(API) <= set(autodx.__all__)


def test_every_public_name_loads():
    for name in API:
        assert getattr(autodx, name).__name__ == name, name
    with pytest.raises(AttributeError, match="no attribute 'gradd'"):
        autodx.gradd  # noqa: B018


def test_py_typed_is_shipped():
    assert os.path.isfile(os.path.join(ROOT, "src", "autodx", "py.typed"))
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["autodx"]
    assert any(d.startswith("mypy") for d in project["project"]["optional-dependencies"]["test"])


MYPY_CONFIG = """\
[mypy]
follow_imports = silent
ignore_missing_imports = True
mypy_path = {src}
# jax's own sources double mypy's time (13 s instead of 5 s, cold); autodx's
# signatures are what this test is about
[mypy-jax.*,jaxlib.*,ml_dtypes.*,scipy.*,sympy.*,mpmath.*]
follow_imports = skip
"""


def test_mypy_sees_the_real_signatures(tmp_path):
    """py.typed and the TYPE_CHECKING imports: mypy sees each function's real signature
    (not Any from the lazy __getattr__), the result type that ``data=`` selects, and
    a misspelt name is an error."""
    (tmp_path / "mypy.ini").write_text(MYPY_CONFIG.format(src=os.path.join(ROOT, "src")))
    (tmp_path / "snippet.py").write_text(textwrap.dedent("""\
        import autodx

        reveal_type(autodx.grad)
        reveal_type(autodx.grad("x**2", at=1))
        reveal_type(autodx.grad("x**2", data={"x": [1.0, 2.0]}))
        reveal_type(autodx.function)
        reveal_type(autodx.hessian)
        reveal_type(autodx.formula("x**2").derivatives)
        autodx.gradd
        """))
    run = subprocess.run([sys.executable, "-m", "mypy", "--config-file", "mypy.ini",
                          "--cache-dir", str(tmp_path / "cache"), "snippet.py"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    revealed = [line.split('Revealed type is "', 1)[1].rstrip('"').replace("builtins.", "")
                for line in run.stdout.splitlines() if "Revealed type" in line]  # mypy < 2
    # writes builtins.int, later versions int
    assert len(revealed) == 6, run.stdout + run.stderr
    grad, at_point, at_rows, function, hessian, derivatives = revealed
    assert grad.startswith("Overload(def (expr: str | autodx.api.Expression, order: int =")
    assert "-> autodx.views.GradResult" in grad and "-> autodx.views.GradRows" in grad
    assert "autodx.frames.FrameLike" in grad
    assert (at_point, at_rows) == ("autodx.views.GradResult", "autodx.views.GradRows")
    assert function == "def (text: str, defs: typing.Sequence[str] =) -> " \
                       "autodx.jaxfunction.Function"
    assert hessian.startswith("def (expr: str | autodx.api.Expression, at: Any =")
    # numpy 2 spells it ndarray[tuple[Any, ...], dtype[float64]], numpy 1.26 (the lower
    # bound) ndarray[Any, dtype[floating[_64Bit]]]: the same type
    assert re.search(r"-> numpy\.ndarray\[(tuple\[Any, \.\.\.\]|Any), numpy\.dtype\["
                     r"(numpy\.float64|numpy\.floating\[numpy\._typing\._64Bit\])\]\]$",
                     hessian), hessian
    assert derivatives == "dict[int, Any]"
    assert 'snippet.py:9: error: Module has no attribute "gradd"' in run.stdout
    assert run.returncode == 1 and "Found 1 error" in run.stdout


# ---------------------------------------------------------------- autodx.function

def test_function_signature_and_arguments():
    f = autodx.function("sin(x)*y + x10 - x2")
    assert f.variables == ["x", "x2", "x10", "y"]  # natural name order
    assert list(inspect.signature(f).parameters) == ["x", "x2", "x10", "y"]
    want = math.sin(0.5) * 3.0 + 7.0 - 2.0
    assert float(f(0.5, 2.0, 7.0, 3.0)) == pytest.approx(want, rel=1e-15)
    assert float(f(0.5, 2, y=3, x10=7)) == pytest.approx(want, rel=1e-15)
    assert f(0.5, 2, 7, 3).dtype == jnp.float64  # whole numbers become float64
    for args, kwargs, message in [((0.5, 2, 7), {}, "missing a required argument: 'y'"),
                                  ((0.5, 2, 7, 3, 4), {}, "too many positional arguments"),
                                  ((0.5, 2, 7, 3), {"z": 1}, "unexpected keyword argument 'z'"),
                                  ((0.5, 2, 7), {"x": 1}, "multiple values for argument 'x'")]:
        with pytest.raises(TypeError, match=message):
            f(*args, **kwargs)
    assert repr(f) == "autodx.function('sin(x)*y + x10 - x2')  # f(x, x2, x10, y)"


def test_function_composes_with_jax_transforms():
    f = autodx.function("sin(x)*y")
    x, y = 0.7, -1.3
    assert float(jax.jit(f)(x, y)) == pytest.approx(math.sin(x) * y, rel=1e-15)
    dx, dy = jax.grad(f, argnums=(0, 1))(x, y)
    assert (float(dx), float(dy)) == pytest.approx((math.cos(x) * y, math.sin(x)), rel=1e-15)
    assert float(jax.jit(jax.grad(jax.grad(f)))(x, y)) == pytest.approx(-math.sin(x) * y,
                                                                      rel=1e-14)
    xs = np.linspace(-1, 1, 7)
    batched = jax.vmap(f, in_axes=(0, None))(xs, y)
    assert np.asarray(batched) == pytest.approx(np.sin(xs) * y, rel=1e-15)
    jac = jax.jacfwd(lambda p: f(p[0], y=p[1]))(jnp.array([x, y]))
    assert np.asarray(jac) == pytest.approx([math.cos(x) * y, math.sin(x)], rel=1e-15)
    assert jax.grad(f)(x, y).dtype == jnp.float64


def _hand_written(x, y, z):
    return jnp.exp(-x ** 2) * jnp.log1p(y ** 2) + jnp.dot(z, z) * x + jnp.tanh(z[1] * y)


def test_function_agrees_with_jax_on_hand_written_jnp():
    f = autodx.function("exp(-x**2)*log(1 + y**2) + dot(z, z)*x + tanh(z[1]*y)")
    args = (0.3, -0.8, jnp.array([0.5, -1.5, 2.0]))
    assert float(f(*args)) == pytest.approx(float(_hand_written(*args)), rel=1e-14)
    for argnums in (0, 1, 2):  # jit: op by op, three Hessians take seconds
        got = jax.jit(jax.hessian(f, argnums=argnums))(*args)
        want = jax.jit(jax.hessian(_hand_written, argnums=argnums))(*args)
        assert np.asarray(got) == pytest.approx(np.asarray(want), rel=1e-13, abs=1e-15)
    zs = jnp.array([[0.5, -1.5, 2.0], [1.0, 2.0, 3.0]])
    got = jax.jit(jax.vmap(jax.grad(f, argnums=2), in_axes=(None, None, 0)))(0.3, -0.8, zs)
    want = jax.vmap(jax.grad(_hand_written, argnums=2), in_axes=(None, None, 0))(0.3, -0.8, zs)
    assert np.asarray(got) == pytest.approx(np.asarray(want), rel=1e-14)


def test_function_with_helpers_and_meta_gradients():
    # L(w - 0.1*dL/dw) with L(w) = (w*a - 1)**2: d/dw at w=0.3, a=2 in closed form
    f = autodx.function("L(w - 0.1*diff(L(w), w))", defs=["L(w) = (w*a - 1)**2"])
    assert f.variables == ["a", "w"] and "defs=['L(w) = (w*a - 1)**2']" in repr(f)
    a, w = 2.0, 0.3
    inner = w - 0.1 * 2 * (w * a - 1) * a
    want = 2 * (inner * a - 1) * a * (1 - 0.2 * a * a)
    assert float(jax.grad(f, argnums=1)(a, w)) == pytest.approx(want, rel=1e-14)


def test_function_argument_errors():
    f = autodx.function("dot(v, v) + x")
    with pytest.raises(InputError, match=r"v must be a vector \(.*\), not an array of shape \(\)"):
        f(1.0, 2.0)
    with pytest.raises(InputError, match=r"x must be a number or a vector, not an array of "
                                         r"shape \(2, 2\).*jax.vmap"):
        f(jnp.ones(2), jnp.ones((2, 2)))
    assert float(f(jnp.array([1.0, 2.0]), 0.5)) == 5.5
    constant = autodx.function("pi/2")
    assert constant.variables == [] and float(constant()) == pytest.approx(math.pi / 2)
    with pytest.raises(TypeError, match="too many positional arguments"):
        constant(1.0)


def test_function_latex_is_sympys():
    x, y, theta = sp.symbols("x y theta", real=True)
    f = autodx.function("sin(theta)*y/(1 + x**2)")
    assert f._repr_latex_() == f"$\\displaystyle {sp.latex(sp.sin(theta) * y / (1 + x**2))}$"
    assert autodx.function("dot(v, v)")._repr_latex_() is None  # a vector: length unknown


# ---------------------------------------------------------------- data= in memory

class Frame:
    """A stand-in for a pandas DataFrame: what autodx may use of one, and nothing more."""

    def __init__(self, columns: dict):
        self._columns = columns

    @property
    def columns(self):
        return list(self._columns)

    def to_numpy(self):
        return np.array(list(self._columns.values()), dtype=object).T

    def __getitem__(self, column):
        return Column(self._columns[column])


class Column:
    def __init__(self, values):
        self._values = values

    def to_numpy(self):
        return np.array(self._values, dtype=object if any(
            isinstance(v, str) for v in self._values) else float)


XS = np.array([0.5, -1.0, 2.0])
YS = np.array([1.5, 0.25, -3.0])


def _closed_grad(x, y):  # f = x**2*sin(y)
    return {1: np.stack([2 * x * np.sin(y), x**2 * np.cos(y)], axis=-1),
            2: np.stack([np.stack([2 * np.sin(y), 2 * x * np.cos(y)], -1),
                         np.stack([2 * x * np.cos(y), -x**2 * np.sin(y)], -1)], -2)}


@pytest.mark.parametrize("data", [
    {"x": XS, "y": YS},
    {"x": XS.tolist(), "y": jnp.asarray(YS)},
    np.column_stack([XS, YS]),
    np.column_stack([XS, YS]).tolist(),
    Frame({"y": YS.tolist(), "x": XS.tolist(), "label": ["a", "b", "c"]}),
], ids=["dict", "lists-and-jax", "array", "nested-lists", "frame"])
def test_grad_over_data_in_memory(data):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = autodx.grad("x**2*sin(y)", order=2, data=data)
    assert [str(w.message) for w in caught] == (
        ["data=: ignored the DataFrame column 'label': not variables of the expression "
         "(it needs: x, y)"] if isinstance(data, Frame) else [])
    assert isinstance(r, autodx.GradRows) and len(r) == 3 and r.coordinates == ["x", "y"]
    assert r.value == pytest.approx(XS**2 * np.sin(YS), rel=1e-15)
    want = _closed_grad(XS, YS)
    for k in (1, 2):
        assert r.derivatives[k] == pytest.approx(want[k], rel=1e-14, abs=1e-15)
    assert r.at["x"].tolist() == XS.tolist() and r.at["y"].tolist() == YS.tolist()
    one = r[1]
    assert isinstance(one, autodx.GradResult) and one.at == {"x": -1.0, "y": 0.25}
    assert one.derivatives[2] == pytest.approx(want[2][1], rel=1e-14)
    assert [p.value for p in r] == pytest.approx(list(XS**2 * np.sin(YS)), rel=1e-15)


def test_data_with_vectors_and_shared_values():
    zs = np.array([[1.0, 2.0], [3.0, -1.0]])
    for data in ({"z": zs}, {"z[0]": zs[:, 0], "z[1]": zs[:, 1]}, zs,
                 Frame({"z[1]": zs[:, 1].tolist(), "z[0]": zs[:, 0].tolist()})):
        g = autodx.perex("a*dot(z, z)", "a", at={"a": 3}, data=data)
        assert g.tolist() == [[5.0], [10.0]], data  # d/da a*dot(z, z) = dot(z, z)
    r = autodx.grad("a*dot(z, z)", at="a=3", data={"z": zs}, wrt="z")
    assert r.coordinates == ["z[0]", "z[1]"] and r.at["a"].tolist() == [3.0, 3.0]
    assert r.derivatives[1].tolist() == (6.0 * zs).tolist()  # 2*a*z
    # columns of an array: the variables data= gives, scalars one column, the vector the rest
    r = autodx.grad("x*dot(z, z)", data=np.array([[2.0, 1.0, 2.0, 3.0]]))
    assert {k: v.tolist() for k, v in r.at.items()} == {"x": [2.0], "z": [[1.0, 2.0, 3.0]]}
    assert r.derivatives[1].tolist() == [[14.0, 4.0, 8.0, 12.0]]


def test_hessian_jvp_partial_and_perex_take_data():
    data = {"x": XS, "y": YS}
    h = autodx.hessian("x**2*sin(y)", data=data)
    assert h.shape == (3, 2, 2) and h == pytest.approx(_closed_grad(XS, YS)[2], rel=1e-14)
    hv = autodx.hessian("x**2*sin(y)", data=data, vector=[1.0, 0.0])
    assert hv == pytest.approx(_closed_grad(XS, YS)[2][:, :, 0], rel=1e-14)
    assert autodx.hessian("x**2*sin(y)", at={"x": 0.5, "y": 1.5}).shape == (2, 2)
    with pytest.raises(InputError, match="makes 2 points"):  # not one point's Hessian
        autodx.hessian("x**2*sin(y)", at="x=0:1:2,y=1")
    d = autodx.jvp_partial("x**2*sin(y)", "x,y", data=data)
    assert d == pytest.approx(2 * XS * np.cos(YS), rel=1e-14)
    g = autodx.perex("(w*x - y)**2", wrt="w", at={"w": 0.5}, data=data)
    assert g[:, 0] == pytest.approx(2 * (0.5 * XS - YS) * XS, rel=1e-15)


def test_data_paths_still_work(tmp_path):
    path = tmp_path / "xy.csv"
    path.write_text("x,y\n" + "".join(f"{x},{y}\n" for x, y in zip(XS, YS)))
    for data in (str(path), path):
        g = autodx.perex("(w*x - y)**2", wrt="w", at="w=0.5", data=data)
        assert g[:, 0] == pytest.approx(2 * (0.5 * XS - YS) * XS, rel=1e-15)
        r = autodx.grad("x**2*sin(y)", data=data)
        assert r.derivatives[1] == pytest.approx(_closed_grad(XS, YS)[1], rel=1e-14)


def test_non_finite_data_is_computed_not_refused():
    r = autodx.grad("x**2", data={"x": [1.0, math.nan, math.inf]})
    assert r.derivatives[1][0] == 2.0 and math.isnan(r.derivatives[1][1])
    assert r.derivatives[1][2] == math.inf


@pytest.mark.parametrize("expr, kwargs, message", [
    ("x*y", {"data": {"x": [1, 2], "y": [1, 2, 3]}},
     "data=: the arrays have different numbers of rows (x: 2, y: 3)"),
    ("x*y", {"data": {"x": [1.0], "y": [1.0], "q": [1.0]}},
     "data=: 'q' is not a variable of the expression (it needs: x, y)"),
    ("x*y", {"data": {"x": [1.0]}}, "data=: no values for y, and at= does not give it"),
    ("x*y", {"data": {"x": ["a"], "y": [1.0]}}, "data=: 'x': holds <U1, not real numbers"),
    ("x*y", {"data": {"x": [], "y": []}}, "data=: there are no rows"),
    ("x*y", {"data": {"x": 1.0, "y": [1.0]}},
     "data=: x has shape (); use 1-D (a number per row) or 2-D (a vector per row); a value "
     "every row shares goes in at="),
    ("x*y", {"data": {"x": [1.0], "y": [1.0]}, "at": {"y": 2}},
     "data=: y is given by at= too; give it in one place"),
    ("x*y", {"data": {"x": [1.0]}, "at": {"x": 1, "y": 2}},
     "data=: at= already gives every variable"),
    ("dot(z, z)", {"data": {"z": [1.0, 2.0]}},
     "data=: z is a vector (it is passed to dot() at column 1), so it needs a 2-D array "
     "(rows x length), or columns z[0], z[1], ..."),
    ("dot(z, z)", {"data": {"z[0]": [1.0], "z[2]": [1.0]}}, "data=: vector z has no column z[1]"),
    ("x*y", {"data": np.ones((2, 3))},
     "data=: 3 columns, but the variables it must give (x, y) take 2"),
    ("x*y", {"data": np.ones((2, 2, 2))}, "data=: an array of shape (2, 2, 2)"),
    ("x*y", {"data": np.ones(3)}, "data=: a 1-D array gives one number per row"),
    ("dot(u, v)", {"data": np.ones((2, 4))},
     "data=: the columns of one array cannot say how long the vectors u and v are"),
    ("x*y", {"data": Frame({"x": ["1", "b"], "y": [1.0, 2.0]})},
     "data=: the column 'x': not numbers (could not convert string to float: 'b')"),
    ("x*y", {"data": Frame({"x": [1.0], "y": [1.0]}), "at": 2},
     "with data=, name the at= values"),
    ("x*y", {"data": {"x": [1.0]}, "at": "y=0:1:3"},
     "at=: y=0:1:3: with data= the rows come from the data, and a range makes points"),
    ("x*y", {"at": "x=0:1:3,y=2"}, "at='x=0:1:3,y=2' makes 3 points, and without data= "
                                   "the result is one point's: give the points as data="),
])
def test_bad_data_says_what_and_where(expr, kwargs, message):
    with pytest.raises(InputError) as e:
        autodx.grad(expr, **kwargs)
    assert message in str(e.value)


def test_perex_data_dict_no_longer_fails_in_os_stat():
    g = autodx.perex("(w*x - y)**2", wrt="w", at={"w": 1}, data={"x": [1, 2], "y": [0, 0]})
    assert g.tolist() == [[2.0], [8.0]]  # 2*(w*x - y)*x


# ---------------------------------------------------------------- how results show

def test_grad_result_repr_and_html():
    r = autodx.grad("x**3 + 2*x**2 - 3*x + 1", order=3, at=1)
    assert r.derivatives == {1: 4.0, 2: 10.0, 3: 6.0} and r.value == 1.0
    assert repr(r) == ("GradResult at x=1\n  f         1\n  df/dx     4\n  d2f/dx^2  10\n"
                       "  d3f/dx^3  6")
    page = r._repr_html_()
    assert page.startswith("<table><caption>grad at x=1</caption>")
    assert "<tr><td>d3f/dx^3</td><td>6</td></tr>" in page
    t = autodx.grad("x*y**2", order=2, at={"x": 1, "y": 2})
    assert t.entries() == [("f", 4.0), ("df/dx", 4.0), ("df/dy", 4.0), ("d2f/dx^2", 0.0),
                           ("d2f/dx dy", 4.0), ("d2f/dy^2", 2.0)]


def test_long_results_show_a_part_and_say_how_much_more():
    r = autodx.grad("sum(v**3)", order=2, at={"v": list(np.arange(1.0, 11.0))})
    text = repr(r)
    assert text.count("\n") == 41 and text.endswith("... and 26 more entries (see .derivatives)")
    rows = autodx.grad("x**2", data={"x": np.arange(50.0)})
    assert repr(rows).endswith("... and 30 more rows") and len(rows) == 50
    assert "<p>... and 30 more rows</p>" in rows._repr_html_()


def test_html_escapes_everything():
    from autodx.views import html_table

    page = html_table("<b>&", ["<th>"], [["x < 1 & y > 2", "<script>"]], "<i>")
    assert "<b>" not in page and "<script>" not in page and "<i>" not in page
    assert html.escape("x < 1 & y > 2") in page


# ---------------------------------------------------------------- formulas

def test_formula_matches_sympy():
    x, y = sp.symbols("x y", real=True)
    expr = sp.exp(x) * sp.sin(y) + x**3 * y
    f = autodx.formula("exp(x)*sin(y) + x**3*y", order=2)
    assert f.coordinates == ["x", "y"]
    names = {"x": x, "y": y}
    for k, want in ((1, [sp.diff(expr, v) for v in (x, y)]),
                    (2, [[sp.diff(expr, a, b) for b in (x, y)] for a in (x, y)])):
        got = np.array(f.derivatives[k], dtype=object).ravel()
        for text, w in zip(got, np.array(want, dtype=object).ravel()):
            assert sp.simplify(sp.parse_expr(text, local_dict=names) - w) == 0, text
    latex = f._repr_latex_()
    assert latex.startswith("$\\begin{aligned}f &= ") and latex.endswith("\\end{aligned}$")
    assert f"\\frac{{\\partial^{{2}} f}}{{\\partial x \\partial y}} &= " \
           f"{sp.latex(sp.diff(expr, x, y))}" in latex
    assert f"\n  d2f/dx dy  {f.derivatives[2][0][1]}\n" in repr(f)


def test_formula_shows_in_html_escaped_and_in_latex_for_one_variable():
    f = autodx.formula("Piecewise((x**2, x > 0), (0, True))", order=1)
    assert "&gt;" in f._repr_html_() and "x > 0" not in f._repr_html_()
    theta = sp.Symbol("theta", real=True)
    g = autodx.formula("sin(theta)", order=2)
    assert g.derivatives == {1: "cos(theta)", 2: "-sin(theta)"}
    assert g._repr_latex_() == (
        "$\\begin{aligned}f &= " + sp.latex(sp.sin(theta)) + " \\\\ \\frac{d f}{d \\theta} &= "
        + sp.latex(sp.cos(theta)) + " \\\\ \\frac{d^{2} f}{d \\theta^{2}} &= "
        + sp.latex(-sp.sin(theta)) + "\\end{aligned}$")


@pytest.mark.parametrize("call", [
    lambda: autodx.grad("x**2", at=1, precision=16),
    lambda: autodx.grad("x**2", at=1, precision="32"),
    lambda: autodx.hessian("x**2*y", at="x=1,y=2", precision=16),
    lambda: autodx.jacobian("[x*y]", at="x=1,y=2", precision=16),
    lambda: autodx.grad("x**2", at=1, order="2"),
])
def test_bad_precision_or_order_is_an_input_error(call):
    from autodx.errors import InputError

    with pytest.raises(InputError, match="precision|order"):
        call()
