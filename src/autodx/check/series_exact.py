"""``autodx series --symbolic`` in the command's own process, without sympy: the
worker started with the command, the request built from the numbers' result and the
``--at`` text, and its streamed answer turned into one exact text per term (or None)
and the warnings for the terms left without one. The sympy side is
:mod:`autodx.check.series_refs`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..data import split_top
from ..result import Result
from .verdict import check_timeout
from .worker import Worker

_NAMED = re.compile(r"\s*([A-Za-z][A-Za-z0-9_]*)\s*=(.*)", re.DOTALL)  # as --at reads it


@dataclass
class Exact:
    """The exact coefficients of a series, as text autodx reads back."""

    texts: list  # per term: its exact coefficient, or None
    point: dict[str, str] | None = None  # coordinate label -> its exact value
    notes: list[str] = field(default_factory=list)  # one warning line each


class ExactSeries:
    """A context manager: ``with ExactSeries(timeout) as s: ...; s.finish(...)``; the
    worker starts at once, so its import of sympy overlaps the numbers' work."""

    def __init__(self, timeout: float):
        check_timeout(timeout)
        self.timeout = timeout
        self.worker = Worker()

    def finish(self, result: Result, text: str, defs: list[str], at: str) -> Exact:
        """The exact coefficients of the series whose numbers are ``result`` (one row)."""
        request = {"kind": "series", "text": text, "defs": list(defs),
                   "layout": {k: len(v) if isinstance(v, list) else None
                              for k, v in result.rows.point(0).items()},
                   "coords": result.coordinates, "keys": result.keys(),
                   "point": result.rows.point(0), "point_text": point_texts(at, list(result.rows.point(0))),
                   "precision": result.precision, "timeout": self.timeout}
        lines, why = self.worker.ask_lines(request, self.timeout)
        exact = Exact([None] * len(request["keys"]))
        whys: dict[int, str] = {}
        for line in lines:
            if "point" in line:
                exact.point = line["point"]
            elif "symbolic" in line:
                exact.texts[line["term"]] = line["symbolic"]
            elif "why" in line:
                whys[line["term"]] = line["why"]
        exact.notes = _notes(result, exact.texts, whys, why)
        return exact

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.worker.__exit__(*exc)
        return False


def point_texts(at: str, names: list[str]) -> dict:
    """The text of each value of an ``--at`` point: ``{"x": "pi/4"}``, a list for a
    vector; a bare value is the only variable's (``names``). Only a hint for the
    worker, which falls back to the numbers the command used wherever a text does not
    read as them."""
    parts = split_top(at)
    if len(parts) == 1 and not _NAMED.match(parts[0]):
        return {names[0]: _value_texts(parts[0])} if len(names) == 1 else {}
    out = {}
    for part in parts:
        m = _NAMED.match(part)
        if m:
            out[m.group(1)] = _value_texts(m.group(2))
    return out


def _value_texts(text: str):
    body = text.strip()
    if body.startswith("[") and body.endswith("]"):
        return [s.strip() for s in split_top(body[1:-1])]
    return body


def _notes(result: Result, texts: list, whys: dict[int, str], why: str | None) -> list[str]:
    """One warning line per reason some terms have no exact coefficient."""
    reasons: dict[str, list[int]] = {}
    for i, t in enumerate(texts):
        if t is None:
            reasons.setdefault(whys.get(i) or why or "sympy gave no answer", []).append(i)
    keys = result.keys()
    return [f"no exact coefficient for {_which(result, keys, terms, len(texts))}: {reason}; "
            "the numbers are shown without it" for reason, terms in reasons.items()]


def _which(result: Result, keys: list, terms: list[int], total: int) -> str:
    if len(terms) == total:
        return f"any of the {total} terms" if total > 1 else "the term"
    names = [_label(result.coordinates, keys[i]) for i in terms]
    shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    return f"{len(terms)} of {total} terms ({shown})"


def _label(coordinates: list[str], key: list[int]) -> str:
    """``x**2*y`` for a term's powers, without the shift by the point."""
    powers = [key.count(i) for i in range(len(coordinates))]
    return "*".join(c if p == 1 else f"{c}**{p}"
                    for c, p in zip(coordinates, powers) if p) or "the constant"
