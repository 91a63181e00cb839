"""Hostile and broken input for the whole CLI, shared by the test suite (a few hundred
examples) and benchmarks/fuzz.py (ten thousand, with the count and time recorded).

Every example must end in exit 0, or exit 2 with exactly one ``error:`` line; never a
traceback, never an exit 1, never more than TIME_LIMIT seconds, and never code run
(a canary file that a successful injection would create must not appear).
"""
from __future__ import annotations

import os
import re
import time

from hypothesis import strategies as st

TIME_LIMIT = 20.0
CANARY = "AUTODX_PWNED"

_PIECES = [
    "x", "y", "z[0]", "z[1]", "z[-1]", "z[9]", "1", "0", "2.5", "1e308", "1e-320", "-",
    "+", "*", "/", "**", "^", "(", ")", "[", "]", ",", " ", "sin(", "log(", "exp(",
    "dot(", "sum(", "prod(", "norm(", "diff(", "stop_gradient(", "max(", "atan2(",
    "pi", "E", "__import__", "os", ".", "'", "\"", "=", ":", "lambda", "for", "in",
    "open(", f"'{CANARY}'", ";", "\\", "\n", "\x00", "é", "∂", "9**9**9", "1/0",
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


def point_args(text: str) -> list[str]:
    """``--at`` with values for those of x, y and z that ``text`` mentions."""
    given = {"x": "x=0.5", "y": "y=2", "z": "z=[1,2,3]"}
    used = [v for k, v in given.items()
            if re.search(rf"(?<![A-Za-z0-9_]){k}(?![A-Za-z0-9_])", text)]
    return ["--at", ",".join(used)] if used else []


def run_one(invoke, text: str) -> tuple[int, float]:
    """Run ``autodx grad TEXT`` through ``invoke(args) -> (code, stdout, stderr)`` and
    check the contract; returns the exit status and the seconds it took."""
    args = ["grad", text, *point_args(text)]
    start = time.perf_counter()
    code, stdout, stderr = invoke(args)
    seconds = time.perf_counter() - start
    assert seconds < TIME_LIMIT, (text, seconds)
    assert "Traceback" not in stderr, (text, stderr)
    assert not os.path.exists(CANARY), text
    if code == 2:
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (text, stderr)
        assert stdout == "", (text, stdout)
    else:
        assert code == 0, (text, code, stderr)
    return code, seconds
