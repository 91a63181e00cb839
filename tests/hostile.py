"""Hostile and broken input on every surface a user controls, shared by the suite
(tests/test_hostile.py, a few hundred examples) and benchmarks/fuzz.py (ten thousand
per surface, recorded in docs/benchmarks.md).

Surfaces (:data:`SURFACES`): ``expr`` (EXPR), ``def`` (``--def``), ``indices``
(``jvp-partial --indices``), ``at`` (``--at``), ``data`` (``--data`` contents: CSV, NPY,
NPZ, damaged and hostile, and odd files), ``out`` (``--out`` names and what is already
there) and ``cache`` (damaged compile-cache entries). Each strategy draws an
:class:`Example`: the arguments, the files to plant in the example's folder, stdin,
and the texts it hands autodx (what the audit hook matches compiled code against).
Part of every surface is shaped to be costly (deep nesting, long ``--def`` chains,
many indices, big data), so that ``target()`` on the run time has somewhere to climb.

Running and judging an example (planting its files, the audit hook, the contract's
checks, the cache's intact entries) is benchmarks/harness.py's, re-exported here.
"""
from __future__ import annotations

import functools
import importlib.util
import io
import os
import pickle
import re
import sys
import zipfile

import numpy as np
from hypothesis import strategies as st

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _harness():
    if "autodx_harness" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "autodx_harness", os.path.join(ROOT, "benchmarks", "harness.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules["autodx_harness"] = module
        spec.loader.exec_module(module)
    return sys.modules["autodx_harness"]


harness = _harness()
audit = harness.audit
Example, Special, CANARY = harness.Example, harness.Special, harness.CANARY
CACHE_COMMANDS, CACHE_DATA = harness.CACHE_COMMANDS, harness.CACHE_DATA
run_example, CachePlant = harness.run_example, harness.CachePlant
TIME_LIMIT = harness.TIME_LIMIT


def invoke(argv, stdin=None):
    """``autodx ARGV`` in-process (typer's CliRunner): (exit status, stdout, stderr, the
    exception that escaped the CLI, if any)."""
    from typer.testing import CliRunner

    from autodx.cli import app

    r = CliRunner().invoke(app, argv, input=stdin)
    exc = r.exception
    return r.exit_code, r.stdout, r.stderr, \
        None if exc is None or isinstance(exc, SystemExit) else repr(exc)[:500]


# ------------------------------------------------------------------- EXPR

_PIECES = [
    "x", "y", "z[0]", "z[1]", "z[-1]", "z[9]", "1", "0", "2.5", "1e308", "1e-320", "-",
    "+", "*", "/", "**", "^", "(", ")", "[", "]", ",", " ", "sin(", "log(", "exp(",
    "dot(", "sum(", "prod(", "norm(", "diff(", "stop_gradient(", "max(", "atan2(",
    "pi", "E", "__import__", "os", ".", "'", "\"", "=", ":", "lambda", "for", "in",
    "open(", f"'{CANARY}'", CANARY, ";", "\\", "\n", "\x00", "é", "∂", "9**9**9", "1/0",
    "pickle", "ctypes", "subprocess", "system(", "eval(", "exec(", "compile(",
]

near_valid = st.lists(st.sampled_from(_PIECES), min_size=1, max_size=30).map("".join)
garbage = st.text(max_size=80)

_LEAVES = st.sampled_from(["x", "y", "z[0]", "z[2]", "0.5", "3", "pi", "E", "1e-3"])
_UNARY = ["sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "atan", "erf",
          "sigmoid", "asin", "acosh", "floor", "round", "stop_gradient", "cbrt"]


def _grow(children):
    return st.one_of(
        st.tuples(st.sampled_from(_UNARY), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(children, st.sampled_from(["+", "-", "*", "/", "**", "^"]), children)
        .map(lambda t: f"({t[0]}){t[1]}({t[2]})"),
        st.sampled_from(["sum(z)", "prod(z)", "norm(z)", "dot(z, z)", "max(z)"]),
        children.map(lambda c: f"diff({c}, x)"),
    )


valid = st.recursive(_LEAVES, _grow, max_leaves=8)


@st.composite
def _mutated(draw):
    """A valid expression with one piece inserted, or one character deleted."""
    text = draw(valid)
    i = draw(st.integers(0, len(text)))
    if draw(st.booleans()) and text:
        return text[:max(i - 1, 0)] + text[i:]
    return text[:i] + draw(st.sampled_from(_PIECES)) + text[i:]


any_text = st.one_of(valid, _mutated(), near_valid, garbage)


def _nest(names, depth, leaf="x"):
    text = leaf
    for i in range(depth):
        text = f"{names[i % len(names)]}({text})"
    return text


@st.composite
def _diff_nest(draw):
    text = "sin(x)"
    for _ in range(draw(st.integers(1, 4))):
        text = f"diff({text}, x, {draw(st.integers(1, 12))})"
    return text


# Shapes known to cost (issue 12's "Limits"), with a size for target() to climb.
costly_expr = st.one_of(
    st.integers(1, 400).map(lambda n: _nest(["sin"], n)),
    st.integers(1, 300).map(lambda n: _nest(["sin", "exp", "tanh", "log1p"], n)),
    st.integers(2, 500).map(lambda n: "**".join(["x"] * n)),
    st.integers(2, 300).map(lambda n: "(" * n + "x" + ")" * n),
    st.integers(2, 200).map(lambda n: "*".join(f"sin(x+{i})" for i in range(n))),
    _diff_nest(),
)

_WORDS = {"x": "x=0.5", "y": "y=2", "z": "z=[1,2,3]", "a": "a=2", CANARY: f"{CANARY}=1"}


def point_args(*texts: str) -> list[str]:
    """``--at`` with values for those of x, y, z, a (and the canary) that ``texts``
    mention."""
    joined = " ".join(texts)
    used = [v for k, v in _WORDS.items()
            if re.search(rf"(?<![A-Za-z0-9_]){re.escape(k)}(?![A-Za-z0-9_])", joined)]
    return ["--at", ",".join(used)] if used else []


@st.composite
def expr_examples(draw, costly: bool = True):
    """``grad EXPR --at ...``, now and then with --symbolic or --check (the worker
    process); with ``costly``, one in five of a shape known to cost."""
    text = draw(costly_expr if costly and draw(st.integers(0, 4)) == 0 else any_text)
    if draw(st.integers(0, 9)) == 0:  # the canary as a variable: valid, and carried on
        text = re.sub(r"(?<![A-Za-z0-9_])y(?![A-Za-z0-9_])", CANARY, text)
    argv = ["grad", text, *point_args(text)]
    if draw(st.integers(0, 3)) == 0:
        argv += ["--order", str(draw(st.integers(1, 60 if costly else 8)))]
    if costly and draw(st.integers(0, 9)) == 0:
        text = draw(st.sampled_from(["sin(x*y*z[0])", "x*y", "exp(x+y)"]))
        argv = ["grad", text, "--at", "x=0.5,y=2,z=[1,2,3]",
                "--order", str(draw(st.integers(1, 14)))]
    if costly and draw(st.integers(0, 7)) == 0:  # (the suite has a test of its own)
        argv += [draw(st.sampled_from(["--symbolic", "--check"])),
                 "--symbolic-timeout", "5"]
    return Example("expr", argv, texts=[text])


# ------------------------------------------------------------------- --def

_DEF_NAMES = ["f", "g", "L", "sin", "pi", "x", "E", "diff", "sum", CANARY, "__import__",
              "f_1", "é", "lambda", "F" * 300, "1f", "", "f.g", "os"]
_PARAMS = ["u", "v", "w", "x", "a", CANARY, "__class__", "f", "sin", "", "u u", "1",
           "u=1", "*u"]


@st.composite
def _definition(draw):
    name = draw(st.sampled_from(_DEF_NAMES))
    params = draw(st.lists(st.sampled_from(_PARAMS), min_size=0, max_size=5))
    if draw(st.integers(0, 15)) == 0:
        params = [f"p{i}" for i in range(draw(st.integers(50, 300)))]
    body = draw(st.one_of(valid, any_text, st.sampled_from(params or ["u"])))
    body = re.sub(r"(?<![A-Za-z0-9_])x(?![A-Za-z0-9_])", (params or ["u"])[0], body) \
        if draw(st.booleans()) else body
    eq = draw(st.sampled_from([" = ", "=", " == ", " := ", " ", "=="]))
    return f"{name}({', '.join(params)}){eq}{body}"


@st.composite
def _chain(draw, costly: bool):
    """f0(u) = f1(u) + f1(u) ...: helpers that call the next one ``calls`` times, the
    expansion growing as calls ** depth."""
    depth, calls = draw(st.integers(1, 24 if costly else 4)), draw(st.integers(1, 3))
    op = draw(st.sampled_from(["+", "*"]))
    defs = [f"f{i}(u) = " + op.join([f"f{i + 1}(u)"] * calls) for i in range(depth)]
    return defs + [f"f{depth}(u) = sin(u)"], "f0(x)"


@st.composite
def def_examples(draw, costly: bool = True):
    kind = draw(st.integers(0, 5))
    if kind == 0:
        defs, expr = draw(_chain(costly))
    elif kind == 1:
        defs = draw(st.sampled_from([["f(u) = f(u)"], ["f(u) = g(u)", "g(u) = f(u)"],
                                     ["f(u) = u", "f(u) = 2*u"], ["f(u) = diff(f(u), u)"],
                                     ["f() = 1"], ["f(u, u) = u"], ["f(u) = u(u)"]]))
        expr = draw(st.sampled_from(["f(x)", "g(x)", "f()", "f(x, x)", "f"]))
    else:
        defs = draw(st.lists(_definition(), min_size=1, max_size=4))
        name = defs[0].split("(")[0]
        expr = draw(st.one_of(st.just(f"{name}(x)"), st.just(f"{name}(x) + {name}(y)"),
                              st.just(f"diff({name}(x), x)"), any_text))
    argv = ["grad", expr]
    for d in defs:
        argv += ["--def", d]
    argv += point_args(expr, *defs)
    if draw(st.integers(0, 15)) == 0:
        argv += ["--symbolic", "--symbolic-timeout", "5"]
    return Example("def", argv, texts=[expr, *defs])


# ------------------------------------------------------------------- --indices

_INDEX_EXPRS = ["sin(prod(z))", "prod(z)", "x*y*sum(z)", "exp(dot(z, z))", "sin(x*y)",
                "x**3*y**2", "sin(x*y*prod(z))"]


@st.composite
def indices_examples(draw, costly: bool = True):
    expr = draw(st.sampled_from(_INDEX_EXPRS))
    n = draw(st.integers(1, 24 if costly else 6))
    names = ["x", "y"] + [f"z[{i}]" for i in range(n)]
    indices = draw(st.one_of(
        st.lists(st.integers(-3, n + 4), max_size=24 if costly else 5)
        .map(lambda v: ",".join(map(str, v))),
        st.lists(st.sampled_from(names + ["z[-1]", "z[99]", "w", CANARY, "z", "z[1.5]",
                                          "z[01]", " x ", "x[0]", "__import__('os')"]),
                 min_size=1, max_size=12).map(",".join),
        st.integers(1, 24 if costly else 5).map(
            lambda k: ",".join(str(i % n) for i in range(k))),
        st.lists(st.integers(0, n - 1), min_size=1, max_size=16 if costly else 4)
        .map(lambda v: ",".join(map(str, v))),
        st.integers(1, 6000).map(lambda k: "9" * k),
        st.integers(1, 6000).map(lambda k: f"z[{'9' * k}]"),
        st.lists(st.sampled_from(["0", "1", ",", ";", " ", ",,", "-", "x", "[", "]",
                                  "1e3", "0x1", "١"]), max_size=20).map("".join),
        garbage,
    ))
    given = {"x": "x=0.5", "y": "y=2",
             "z": f"z=[{','.join(str(1 + i / 10) for i in range(n))}]"}
    at = ",".join(v for k, v in given.items() if re.search(rf"\b{k}\b", expr))
    argv = ["jvp-partial", expr, "--indices", indices, "--at", at]
    return Example("indices", argv, texts=[expr, indices])


# ------------------------------------------------------------------- --at

_NUMBERS = ["1", "0", "-0", "0.5", ".5", "5.", "1e308", "1e309", "-1e309", "1e-320",
            "nan", "inf", "-inf", "NaN", "0x10", "1_000", " 3 ", "9" * 400, "1e", "--1",
            "pi", "pi/2", "2*pi", "sqrt(2)", "exp(1000)", "1/0", "9**9**9", "E",
            "__import__('os')", CANARY, f"'{CANARY}'", "x", "é", "", "[", "]"]


@st.composite
def _value(draw, costly: bool):
    kind = draw(st.integers(0, 5))
    if kind <= 1:
        return draw(st.sampled_from(_NUMBERS))
    if kind == 2:
        return str(draw(st.floats(allow_nan=True, allow_infinity=True)))
    if kind == 3:
        items = draw(st.lists(st.sampled_from(_NUMBERS[:12]), max_size=8))
        return "[" + ",".join(items) + "]"
    if kind == 4:  # a long vector, or a deep one
        n = draw(st.integers(0, 200_000 if costly else 50))
        return draw(st.sampled_from(["[" + ",".join(["1"] * n) + "]",
                                     "[" * min(n, 5000) + "1" + "]" * min(n, 5000)]))
    a, b, n = draw(st.sampled_from(["0", "-1", "pi"])), draw(st.sampled_from(
        ["1", "2*pi", "1e308"])), draw(st.integers(0, 10 ** 9 if costly else 20))
    return draw(st.sampled_from([f"{a}:{b}:{n}", f"{a}:{b}", f"{a}:{b}:{n}:1", "::"]))


_GOOD = {"x": "0.5", "y": "2", "z": "[1,2,3]"}


@st.composite
def _nearly(draw, expr: str, costly: bool):
    """The right point for ``expr``, with at most one value made hostile."""
    names = [n for n in _GOOD if re.search(rf"\b{n}\b", expr)]
    values = dict((n, _GOOD[n]) for n in names)
    if names and draw(st.booleans()):
        values[draw(st.sampled_from(names))] = draw(_value(costly))
    if len(names) == 1 and draw(st.booleans()):
        return values[names[0]]
    return ",".join(f"{n}={v}" for n, v in values.items())


@st.composite
def _point(draw, costly: bool):
    if draw(st.integers(0, 4)) == 0:
        return draw(st.one_of(_value(costly), near_valid, garbage))
    names = draw(st.lists(st.sampled_from(["x", "y", "z", "w", CANARY, "x[0]", "", "1x",
                                           "é", "__class__"]), min_size=1, max_size=4))
    parts = [f"{name}{draw(st.sampled_from(['=', '==', ' = ', ':']))}{draw(_value(costly))}"
             for name in names]
    return draw(st.sampled_from([",", ";", ", ", " "])).join(parts)


@st.composite
def at_examples(draw, costly: bool = True):
    expr = draw(st.sampled_from(["x*y + sum(z)", "x", "sin(x)", "x*y", "dot(z, z)",
                                 "x**2"]))
    points = draw(st.lists(st.one_of(_point(costly), _nearly(expr, costly)), min_size=1,
                           max_size=4))
    if costly and draw(st.integers(0, 20)) == 0:
        points = points * draw(st.integers(2, 400))
    argv = ["grad", expr]
    for p in points:
        argv += ["--at", p]
    if draw(st.booleans()):
        argv += ["--format", draw(st.sampled_from(["json", "csv", "plain", "table"]))]
    return Example("at", argv, texts=[expr, *set(points)])


# ------------------------------------------------------------------- --data

_HEADER_NAMES = ["x", "y", "z[0]", "z[1]", "z[2]", "w", "", "Unnamed: 0", "x ", '"x"',
                 "inf", "nan", "z[" + "9" * 5000 + "]", CANARY, "__import__('os')", "é",
                 "x[0]", "'y'"]
_CELLS = ["1", "2.5", "-0", "1e308", "1e999", "nan", "inf", "-inf", "0x10", "1_000",
          " 3 ", "3 # four", "#", "", "abc", "1,5", "\x00", CANARY, "__import__('os')",
          '"1"', "1e-320", "9" * 400, "١", "True"]
_DATA_EXPRS = [("x*y", ["--format", "json"]), ("sin(x)", ["--format", "csv"]),
               ("sum(z)", ["--format", "json"]), ("x*y + w", ["--at", "w=1"])]
_COLUMNS = {"x*y": ["x", "y"], "sin(x)": ["x"], "sum(z)": ["z[0]", "z[1]", "z[2]"],
            "x*y + w": ["x", "y"]}


@st.composite
def _good_csv(draw, expr: str, costly: bool):
    """A CSV file right for ``expr``, then maybe one cell, the header or a line made
    hostile, and maybe many rows."""
    names = list(_COLUMNS[expr])
    rows = [[str(draw(st.sampled_from([0.5, 1, 2.5, -3, 1e-3]))) for _ in names]
            for _ in range(draw(st.integers(1, 4)))]
    change = draw(st.integers(0, 5))
    if change == 1:
        names[draw(st.integers(0, len(names) - 1))] = draw(st.sampled_from(_HEADER_NAMES))
    elif change == 2:
        rows[0][draw(st.integers(0, len(names) - 1))] = draw(st.sampled_from(_CELLS))
    elif change == 3:
        rows.insert(draw(st.integers(0, len(rows))), [draw(st.sampled_from(_CELLS))])
    elif change == 4:
        names = ["", *names]  # an unnamed leading index column
        rows = [[str(i), *r] for i, r in enumerate(rows)]
    rows *= draw(st.sampled_from([1, 1, 100] + ([10 ** 5, 10 ** 6] if costly else [])))
    sep = draw(st.sampled_from([",", "\t", " "]))
    return ("\n".join([sep.join(names)] + [sep.join(r) for r in rows]) + "\n").encode()


def _good_arrays(expr: str, rows: int) -> dict:
    rng = np.random.default_rng(rows)
    if expr == "sum(z)":
        return {"z": rng.standard_normal((rows, 3))}
    return {n: rng.standard_normal(rows) for n in _COLUMNS[expr]}


@st.composite
def _good_binary(draw, expr: str, kind: str, costly: bool):
    """.npy (one array: the only variable) or .npz right for ``expr``, maybe damaged."""
    rows = draw(st.sampled_from([1, 3, 1000] + ([10 ** 6] if costly else [])))
    arrays = _good_arrays(expr, rows)
    buf = io.BytesIO()
    if kind == "npy":
        np.save(buf, next(iter(arrays.values())))
    else:
        np.savez(buf, **arrays)
    data = buf.getvalue()
    return _damage(draw, data) if draw(st.booleans()) else data


@st.composite
def _csv_bytes(draw, costly: bool):
    names = draw(st.lists(st.sampled_from(_HEADER_NAMES), min_size=0, max_size=5))
    sep = draw(st.sampled_from([",", "\t", " ", ";", "  ", ", "]))
    width = max(len(names), 1)
    rows = draw(st.lists(st.lists(st.sampled_from(_CELLS), min_size=0, max_size=width + 1),
                         max_size=6))
    if draw(st.booleans()):
        rows = [[draw(st.sampled_from(_CELLS[:3]))] * width] + rows
    lines = ([sep.join(names)] if names else []) + [sep.join(r) for r in rows]
    repeat = draw(st.sampled_from([1, 1, 1, 10, 1000, 100_000] if costly else [1, 10]))
    if repeat > 1 and lines:
        lines = lines[:1] + lines[1:] * repeat
    if costly and draw(st.integers(0, 12)) == 0:  # one very long line
        lines.append("1," * draw(st.integers(1000, 3_000_000)))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join(lines) + draw(st.sampled_from(["", newline, newline * 3]))
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 6)) == 0:
        data = b"\xef\xbb\xbf" + data
    if draw(st.integers(0, 10)) == 0:
        data = draw(st.binary(max_size=200))
    return data


_DTYPES = ["<f8", "<f4", "<i8", "|b1", "<c16", "<U3", "<f2", ">f8", "O",
           [("a", "<f8"), ("b", "<i4")]]


@st.composite
def _npy_bytes(draw, costly: bool = False):
    dtype = np.dtype(draw(st.sampled_from(_DTYPES)))
    shape = draw(st.sampled_from([(3, 2), (5,), (4, 1), (0, 2), (), (2, 2, 2), (3, 3),
                                  (1, 0)] + ([(100_000, 3)] if costly else [])))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    if dtype.kind == "O":
        array = np.empty(shape, dtype=object)
        array[...] = [1.0] if shape else 1.0
    elif dtype.names:
        array = np.zeros(shape, dtype=dtype)
    else:
        array = rng.standard_normal(shape).astype(dtype) if dtype.kind != "U" else \
            np.full(shape, "1.5", dtype=dtype)
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return _damage(draw, buf.getvalue())


def _damage(draw, data: bytes) -> bytes:
    """Maybe truncate, overwrite, flip bits in, or rewrite the header of ``data``."""
    kind = draw(st.integers(0, 9))
    if kind == 0 and data:
        return data[:draw(st.integers(0, len(data) - 1))]
    if kind == 1 and data:
        at = draw(st.integers(0, len(data) - 1))
        patch = draw(st.binary(min_size=1, max_size=16))
        return data[:at] + patch + data[at + len(patch):]
    if kind == 2 and data:
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            out[draw(st.integers(0, len(out) - 1))] ^= 1 << draw(st.integers(0, 7))
        return bytes(out)
    if kind == 3 and data.startswith(b"\x93NUMPY"):
        header = draw(st.sampled_from([
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000, 2), }",
            "{'descr': '<f8', 'fortran_order': True, 'shape': (3, 2), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (-1, 2), }",
            "{'descr': 'O', 'fortran_order': False, 'shape': (2,), }",
            "{'descr': __import__('os').system('true'), 'shape': (1,), }",
            f"{{'descr': '<f8', 'fortran_order': False, 'shape': (2,), '{CANARY}': 1}}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (" + "9" * 5000 + ",), }",
            "{'descr': '<f8', 'fortran_order': False, 'shape': " + "(" * 200 + ")" * 200
            + ", }",
        ])).encode("latin-1")
        pad = (64 - (10 + len(header) + 1) % 64) % 64
        return b"\x93NUMPY\x01\x00" + (len(header) + pad + 1).to_bytes(2, "little") + \
            header + b" " * pad + b"\n" + b"\0" * 48
    return data


class _Run:
    """Pickled, would run ``true``: a data file must never be unpickled."""

    def __reduce__(self):
        return (os.system, ("true",))


@st.composite
def _npz_bytes(draw, costly: bool):
    buf = io.BytesIO()
    compressed = draw(st.booleans())
    method = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", method) as z:
        for name in draw(st.lists(st.sampled_from(
                ["x.npy", "y.npy", "z.npy", "x", "../x.npy", "w.npy", f"{CANARY}.npy",
                 "__import__.npy", "x.npy/"]), min_size=0, max_size=3, unique=True)):
            kind = draw(st.integers(0, 5))
            if kind == 0:
                member = pickle.dumps(_Run())
            elif kind == 1 and compressed and costly:  # small on disk, big once read
                return _bomb(draw(st.sampled_from([10 ** 6, 10 ** 7, 3 * 10 ** 7])))
            else:
                member = draw(_npy_bytes(costly))
            z.writestr(name, member)
    return _damage(draw, buf.getvalue())


@functools.lru_cache(maxsize=None)
def _bomb(rows: int) -> bytes:
    """An .npz of a few hundred KB whose one member is ``rows`` float64 zeros."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("x.npy", _zeros_npy(rows))
    return buf.getvalue()


def _zeros_npy(rows: int) -> bytes:
    header = f"{{'descr': '<f8', 'fortran_order': False, 'shape': ({rows},), }}"
    header = header.encode() + b" " * ((64 - (10 + len(header) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + \
        bytes(8 * rows)


@st.composite
def data_examples(draw, costly: bool = True):
    expr, extra = draw(st.sampled_from(_DATA_EXPRS))
    kind = draw(st.sampled_from(["csv", "csv", "npy", "npz", "special"]))
    files, stdin = {}, None
    if kind == "special":
        name = draw(st.sampled_from(["d.csv", "d.npy", "d.npz"]))
        # Not regular files (a fifo no one writes to, a socket, devices, a folder) are
        # refused before they are opened; a 300 MB sparse file only with costly.
        files[name] = draw(st.sampled_from([
            Special("dir"), Special("fifo"), Special("socket"),
            Special("symlink", "/dev/null"), Special("symlink", "/dev/zero"),
            Special("symlink", "missing.csv"), Special("symlink", name)] + ([
                Special("sparse", size=300 << 20)] if costly else [])))
        content = b""
    else:
        if draw(st.booleans()):
            content = draw(_good_csv(expr, costly) if kind == "csv" else
                           _good_binary(expr, kind, costly))
        else:
            content = draw({"csv": _csv_bytes(costly), "npy": _npy_bytes(costly),
                            "npz": _npz_bytes(costly)}[kind])
        name = draw(st.sampled_from([f"d.{kind}", f"d.{kind}", "d.txt", "d", "-",
                                     "d.CSV", f"{CANARY}.{kind}"]))
        if name == "-":
            stdin = content.decode("utf-8", "replace")
        else:
            files[name] = content
    argv = [draw(st.sampled_from(["grad", "grad", "perex"])), expr, "--data", name, *extra]
    if argv[0] == "perex":
        argv += ["--wrt", "x", "--at", "x=1"]
    return Example("data", argv, files=files, stdin=stdin,
                   texts=[expr, name, content[:1 << 20]])


# ------------------------------------------------------------------- --out

_OUT_DIRS = ["", "", "sub/", "missing/", "./", "sub//", "file.txt/", "link_dir/",
             "ABS/", "sub/../", "d.csv/"]
_OUT_SUFFIXES = [".json", ".csv", ".npy", ".npz", ".JSON", ".txt", "", ".json/",
                 ".tar.gz", ".csv.", ". json"]
_OUT_STATES = [None, None, b"old content\n", Special("dir"), Special("fifo"),
               Special("symlink", "target.json"), Special("symlink", "missing/t.csv"),
               Special("symlink", "sub"), Special("symlink", "loop"),
               Special("hardlink", "d.csv"), Special("symlink", "d.csv")]


@st.composite
def out_examples(draw, costly: bool = True):
    base = draw(st.one_of(
        st.sampled_from(["out", "o", "-", ".autodx-x", "d", "results", CANARY, "..",
                         "a b", "é", "x" * 300, "-o", "--out"]),
        # no "/": a drawn name must stay in the example's folder (the folders above
        # are the drawn part); autodx may rightly write wherever a name points
        st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                       blacklist_characters="/"), max_size=20)))
    name = draw(st.sampled_from(_OUT_DIRS)) + base + draw(st.sampled_from(_OUT_SUFFIXES))
    state = draw(st.sampled_from(_OUT_STATES))
    rows = draw(st.sampled_from([1, 1, 100, 10 ** 5] if costly else [1, 100]))
    files = {"d.csv": b"x,y\n" + b"1,2\n3,4\n" * rows,
             "sub/keep": b"", "file.txt": b"a file\n", "target.json": b"[1]\n",
             "link_dir": Special("symlink", "sub"), "loop": Special("symlink", "loop")}
    if state is not None and "\x00" not in name and not name.startswith("ABS/"):
        files[name.rstrip("/") or "out.json"] = state
    command = draw(st.sampled_from([
        ["grad", "x*y", "--at", "x=1,y=2"], ["grad", "x*y", "--data", "d.csv"],
        ["hessian", "x*y**2", "--at", "x=1,y=2"], ["perex", "(w*x-y)**2", "--wrt", "w",
                                                   "--at", "w=1", "--data", "d.csv"]]))
    return Example("out", [*command, "--out", name], files=files, out=name,
                   texts=[name])


# ------------------------------------------------------------------- the cache

_DAMAGE = ["random", "truncate", "flip", "overwrite", "header", "magic", "empty", "fifo",
           "zero", "null", "dir", "sparse", "link", "json"]
# Bits flipped or bytes overwritten inside a compiled program once reached XLA, which
# could abort the process (SIGABRT) or give a wrong answer with exit 0 (found by
# benchmarks/fuzz.py): entries now carry a sha256 of their program, so every kind of
# damage is noticed before XLA sees it, and the suite draws them all.


@st.composite
def cache_examples(draw, costly: bool = True):
    command = draw(st.integers(0, len(CACHE_COMMANDS) - 1))
    kinds = _DAMAGE
    damage = draw(st.lists(st.tuples(st.integers(0, 7), st.sampled_from(kinds),
                                     st.integers(0, 2 ** 32 - 1)), min_size=1, max_size=3))
    return Example("cache", list(CACHE_COMMANDS[command]), texts=[], damage=damage,
                   command=command, files={"cache-data.csv": CACHE_DATA})


# name -> strategy(costly): with costly=False (the suite) the sizes stay small.
SURFACES = {"expr": expr_examples, "def": def_examples, "indices": indices_examples,
            "at": at_examples, "data": data_examples, "out": out_examples,
            "cache": cache_examples}


