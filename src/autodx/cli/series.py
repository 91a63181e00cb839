"""``autodx series``: the Taylor polynomial around a point, as coefficients and as text
that autodx reads back; with ``--symbolic``, the exact coefficients from sympy beside
the numbers (computed in the symbolic worker, :mod:`autodx.check.series_exact`)."""
from __future__ import annotations

from typing import Annotated, List, Optional

import typer

from ..errors import InputError
from .app import app
from .edge import stderr
from .options import (SYMBOLIC_TIMEOUT, Defs, Dev, Device, Devs, Digits, Expr, ExprCommand,
                      Fmt, Format, Out, Prec, Precision, SymTimeout, Wrt, use_device)
from .output import Progress, check_stdout


@app.command("series", cls=ExprCommand)
def cli_series(
    expr: Expr,
    at: Annotated[List[str], typer.Option(
        "--at", metavar="POINT", show_default=False,
        help="The point to expand around: 0.5, pi/4, or x=0.5,y=1, or z=[0,1].")],
    order: Annotated[int, typer.Option("--order", "-n", metavar="N",
                                       help="The degree of the polynomial.")] = 3,
    wrt: Wrt = None,
    fmt: Fmt = Format.table,
    precision: Prec = Precision.f64,
    defs: Defs = None,
    out: Out = None,
    digits: Digits = None,
    symbolic: Annotated[bool, typer.Option(
        "--symbolic", help="Add each coefficient exactly, as sympy computes it at the exact "
                           "point (--at 0.5 is 1/2, pi/4 is pi/4): a column of the table "
                           "and CSV, a string per term in JSON, and the exact polynomial "
                           "(what --format plain prints).")] = False,
    symbolic_timeout: SymTimeout = SYMBOLIC_TIMEOUT,
    device: Dev = Device.auto,
    devices: Devs = None,
) -> None:
    """The Taylor polynomial of EXPR around a point, up to degree N.

    One variable: the coefficients f^(k)(x0)/k!. Several variables (or a vector): every term of total degree at most N, from the derivative tensors. The polynomial is printed in autodx's own language, every number in full, so it can be pasted back: --format plain prints just that line. Variables not in --wrt stay fixed at their --at values. --symbolic adds the exact coefficients (sympy, in a process of its own); if it runs out of time the numbers are shown with a warning.

    Examples:

    \b
      autodx series "exp(x)" --at 0 --order 4
      autodx series "sin(x)*y" --at x=0,y=2 --order 3 --wrt x,y
      autodx series "log(1 + x)" --at 0.5 --order 5 --format plain
      autodx series "sin(x)" --at pi/4 --order 3 --symbolic
    """
    from .. import api, outfile, render

    use_device(device, devices)
    check_stdout(out)
    outfile.check_out(out)
    if out and fmt is not Format.table:
        raise InputError("--format and --out: a file's format comes from its name; drop "
                         "--format")
    if symbolic and out and not out.lower().endswith((".json", ".csv")):
        raise InputError(f"--symbolic adds text to the coefficients, which {out} cannot "
                         "hold: use --out FILE.json or FILE.csv")
    e = api.expression(expr, defs or ())
    plan = api.plan(e, at)
    _check_one_point(plan.total, at)
    with _exact_session(symbolic, symbolic_timeout) as session:
        with Progress() as progress:
            result = api.grad_rows(e, plan, order, wrt, int(precision.value), progress)
        _check_one_point(result.rows.count, at)
        exact = session.finish(result, e.text, [h.text for h in e.helpers.values()],
                               at[0]) if session else None
    warnings = render.warnings_of(result) + (exact.notes if exact else [])
    shown = _Shown(result, order, expr, exact, warnings)
    from ..parse import MAX_LENGTH

    longest = max(len(shown.line), len(shown.exact_line or ""))
    if longest > MAX_LENGTH:  # said, since the text is meant to be pasted back
        warnings.append(f"the polynomial is {longest:,} characters, over the "
                        f"{MAX_LENGTH:,} autodx reads back as an expression: lower --order "
                        "or differentiate fewer variables (--wrt)")
    for w in warnings:
        stderr(f"warning: {w}")
    _emit(shown, fmt, out, digits)


def _check_one_point(count: Optional[int], at: list[str]) -> None:
    if count is not None and count != 1:
        given = f"--at {at[0]!r}" if len(at) == 1 else f"{len(at)} --at options"
        raise InputError(f"series expands around one point; {given} give{'s' * (len(at) == 1)}"
                         f" {count} points: run one series per point (grad takes many)")


def _exact_session(symbolic: bool, timeout: float):
    import contextlib

    if not symbolic:
        return contextlib.nullcontext()
    from ..check.series_exact import ExactSeries

    return ExactSeries(timeout)


class _Shown:
    """The series in every form it is written in: terms, JSON, CSV rows, lines."""

    def __init__(self, result, order: int, expr: str, exact, warnings: list[str]):
        from .. import polynomial

        self.result, self.exact = result, exact
        self.terms = polynomial.terms(result)
        self.line = polynomial.text(result)
        self.exact_line = None if exact is None else self.line
        if exact is not None and any(t is not None for t in exact.texts):
            self.exact_line = polynomial.exact_text(result, exact.texts, exact.point)
        self.order, self.expr, self.warnings = order, expr, warnings

    def document(self) -> dict:
        from .. import render

        r = self.result
        terms = [{"powers": dict(zip(r.coordinates, t.powers)), "degree": t.degree,
                  "coefficient": render.to_jsonable(t.coefficient)} for t in self.terms]
        doc = {"command": "series", "expression": self.expr, "coordinates": r.coordinates,
               "at": r.rows.point(0), "order": self.order, "terms": terms,
               "polynomial": self.line}
        if self.exact is not None:
            for term, text in zip(terms, self.exact.texts):
                term["symbolic"] = text
            doc["symbolic_polynomial"] = self.exact_line
        doc.update(warnings=self.warnings, schema=1)
        return doc

    def csv_text(self) -> str:
        import csv
        import io

        from .. import render

        header = [f"power of {c}" for c in self.result.coordinates] + ["degree",
                                                                        "coefficient"]
        rows = [[str(q) for q in t.powers] + [str(t.degree), render.exact(t.coefficient)]
                for t in self.terms]
        if self.exact is not None:
            header.append("symbolic")
            rows = [row + [text or ""] for row, text in zip(rows, self.exact.texts)]
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows([header] + rows)
        return buffer.getvalue()


def _emit(shown: _Shown, fmt: Format, out: Optional[str], digits: Optional[int]) -> None:
    import sys

    if out:
        _write(out, shown)
        stderr(f"wrote the Taylor polynomial to {out}")
    elif fmt is Format.plain:
        sys.stdout.write((shown.exact_line or shown.line) + "\n")
    elif fmt is Format.json:
        from ..jsontext import dumps

        sys.stdout.write(dumps(shown.document()) + "\n")
    elif fmt is Format.csv:
        sys.stdout.write(shown.csv_text())
    else:
        _table(shown, digits)


def _write(out: str, shown: _Shown) -> None:
    import numpy as np

    from .. import outfile

    def arrays():
        return {"coefficients": np.array([t.coefficient for t in shown.terms]),
                "powers": np.array([t.powers for t in shown.terms])}
    outfile.write_out(out, shown.document, lambda: iter([shown.csv_text()]), arrays,
                      "coefficients")


def _table(shown: _Shown, digits: Optional[int]) -> None:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from .. import polynomial, render
    from .output import print_table

    result, exact = shown.result, shown.exact

    def build(width):
        at = render.point_text(result.rows.point(0), result.precision, digits)
        t = Table(show_edge=False)
        t.add_column("term", style="bold", overflow="fold")
        t.add_column("degree", justify="right", no_wrap=True)
        t.add_column("coefficient", justify="right", no_wrap=True, overflow="fold")
        if exact is not None:
            t.add_column("symbolic", overflow="fold")
        for j, term in enumerate(shown.terms):
            t.add_row(polynomial.monomial(result, term), str(term.degree),
                      render.number(term.coefficient, result.precision, digits),
                      *([_cell(exact.texts[j])] if exact is not None else []))
        lines = [Text(f"polynomial: {shown.line}", overflow="fold")]
        if exact is not None:
            lines.append(Text(f"exact polynomial: {shown.exact_line}", overflow="fold"))
        return Group(Text(f"Taylor polynomial of f = {result.expression} at {at}"), t,
                     *lines)
    print_table(build)


def _cell(text: Optional[str]) -> str:
    from ..render import MAX_SYMBOLIC

    if text is None:
        return "(not available)"
    return text if len(text) <= MAX_SYMBOLIC else \
        text[:MAX_SYMBOLIC] + f"... ({len(text):,} characters: see --format json)"
